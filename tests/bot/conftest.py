"""The server with fakes only where the network would be: the Bot API, Twilio's REST API, the
Africa's Talking SDK. Each records what would have been sent."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from telegram.request import BaseRequest
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from advisor.engine import Advisor
from bot.server import Edges, create_app
from knowledge.settings import Settings

BOT_TOKEN = "123456:TEST-token"
WEBHOOK_SECRET = "webhook_secret-123"
TWILIO_SID, TWILIO_TOKEN = "AC" + "0" * 32, "twilio-auth-token"
PUBLIC_URL = "https://ushauri.example.org"
AT_SECRET = "at-callback-secret-456"


class FakeTelegram(BaseRequest):
    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.fail_next = 0

    async def initialize(self):
        pass

    async def shutdown(self):
        pass

    @property
    def read_timeout(self):
        return 1.0

    async def do_request(self, url, method, request_data=None, **_):
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        if name == "sendMessage" and self.fail_next:
            self.fail_next -= 1
            return 500, json.dumps({"ok": False, "error_code": 500, "description": "Internal Server Error"}).encode()
        self.calls.append((name, params))
        result = {"getMe": {"id": 1, "is_bot": True, "first_name": "Ushauri", "username": "ushauri_bot"},
                  "sendMessage": {"message_id": len(self.calls), "date": 0,
                                  "chat": {"id": params.get("chat_id"), "type": "private"}}}.get(name, True)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self) -> list[dict]:
        return [params for name, params in self.calls if name == "sendMessage"]


class FakeTwilioHttp(HttpClient):
    def __init__(self):
        super().__init__(None, False)
        self.requests: list[dict] = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self.requests.append({"method": method, "url": url, "data": dict(data or {})})
        body = {"sid": "SM" + "1" * 32, "status": "queued", "to": (data or {}).get("To"), "body": (data or {}).get("Body")}
        return TwilioResponse(201, json.dumps(body))


class FakeAfricasTalking:
    def __init__(self):
        self.sent: list[dict] = []
        self.fail_next = 0

    def send(self, message, recipients, sender_id=None):
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("gateway timeout")
        self.sent.append({"message": message, "recipients": recipients, "sender_id": sender_id})
        return {"SMSMessageData": {"Recipients": [{"statusCode": 101, "number": r, "messageId": "ATXid_1"}
                                                  for r in recipients]}}


class Server:
    """A running app (inside TestClient) and its fakes."""

    webhook_secret, twilio_token, public_url, at_secret = WEBHOOK_SECRET, TWILIO_TOKEN, PUBLIC_URL, AT_SECRET

    def __init__(self, client: TestClient, telegram: FakeTelegram, twilio: FakeTwilioHttp, at: FakeAfricasTalking):
        self.client, self.telegram, self.twilio, self.at = client, telegram, twilio, at

    @property
    def runtime(self):
        return self.client.app.state.runtime

    def drain(self, seconds: float = 5.0) -> None:
        """Wake the outbox worker and wait until it has delivered everything (retries included)."""
        self.runtime.worker.wake()
        assert wait_for(lambda: self.runtime.store.backlog() == 0, seconds), "the outbox did not empty"

    def stored(self, table: str) -> int:
        return self.runtime.store.query(f"SELECT count(*) FROM {table}")[0][0]


def configured(base: Settings, **changes) -> Settings:
    """Settings validated again with changes (secrets become SecretStr, as from the environment)."""
    return Settings(**{**base.model_dump(), **changes})


@pytest.fixture
def server_settings(starter_settings):
    return configured(starter_settings, **{
        "telegram_bot_token": BOT_TOKEN, "telegram_webhook_secret": WEBHOOK_SECRET,
        "twilio_account_sid": TWILIO_SID, "twilio_auth_token": TWILIO_TOKEN, "twilio_from_number": "+15550001111",
        "public_url": PUBLIC_URL, "africastalking_callback_secret": AT_SECRET, "africastalking_sender_id": "40123",
        "outbox_backoff_seconds": 0.05,
    })


@pytest.fixture
def start_server(server_settings, starter_kb, tmp_path):
    """start_server(**setting_changes) -> Server; the same tmp folder keeps state across restarts."""
    opened = []

    def start(**changes) -> Server:
        settings = configured(server_settings, **changes)
        advisor = Advisor(settings, starter_kb, state_db=tmp_path / "state.db")
        fakes = FakeTelegram(), FakeTwilioHttp(), FakeAfricasTalking()
        edges = Edges(telegram_request=fakes[0], twilio_client=Client(TWILIO_SID, TWILIO_TOKEN, http_client=fakes[1]),
                      africastalking_sms=fakes[2])
        client = TestClient(create_app(settings, edges, advisor, state_db=tmp_path / "state.db"))
        client.__enter__()
        server = Server(client, *fakes)
        opened.append(server)
        return server

    yield start
    for server in opened:
        try:
            server.client.__exit__(None, None, None)
        except RuntimeError:
            pass


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
