"""Telegram, Twilio and Africa's Talking through the real app, with real payload shapes and real
validators; fakes only at the network edge."""

import time
from urllib.parse import urlencode

from telegram import Update
from twilio.request_validator import RequestValidator

from advisor.catalog import Catalog

CATALOG = Catalog()
CHAT = 111222333


def tg_message(update_id: int, text: str, **extra) -> dict:
    message = {"message_id": update_id, "date": 1735689600, "text": text,
               "from": {"id": CHAT, "is_bot": False, "first_name": "Amina"},
               "chat": {"id": CHAT, "type": "private", "first_name": "Amina"}, **extra}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def tg_post(server, payload, secret=""):
    Update.de_json(payload, None)  # the payload is a real Telegram update
    secret = server.webhook_secret if secret == "" else secret
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    return server.client.post("/telegram/webhook", json=payload, headers=headers)


def twilio_post(server, params, token=None, path="/sms/twilio"):
    signature = RequestValidator(token or server.twilio_token).compute_signature(server.public_url + path, params)
    return server.client.post(path, content=urlencode(params), headers={
        "X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"})


def sms(sid, body, sender="+15551234567"):
    return {"MessageSid": sid, "SmsStatus": "received", "Body": body, "To": "+15557654321", "NumSegments": "1",
            "NumMedia": "0", "AccountSid": "AC" + "0" * 32, "From": sender, "ApiVersion": "2010-04-01"}


def at_post(server, at_id, text, sender="+254711000111", secret=None):
    secret = secret or server.at_secret
    return server.client.post(f"/sms/africastalking/{secret}", data={
        "from": sender, "to": "40123", "text": text, "date": "2026-12-04 09:26:53", "id": at_id, "linkId": ""})


# Telegram -----------------------------------------------------------------------------------
def test_telegram_bad_secret_is_403_and_stores_nothing(start_server):
    server = start_server()
    for secret in (None, "wrong"):
        assert tg_post(server, tg_message(1, "hello"), secret).status_code == 403
    assert server.stored("inbox") == 0 and server.telegram.sent() == []


def test_telegram_text_is_answered_once_even_when_delivered_twice(start_server):
    server = start_server()
    update = tg_message(734829101, "How do I control fall armyworm in maize?")
    assert tg_post(server, update).status_code == 200
    assert tg_post(server, update).status_code == 200  # Telegram's retry
    server.drain()
    [sent] = server.telegram.sent()
    assert sent["chat_id"] == CHAT and sent["text"].startswith("Act early while caterpillars are small")
    assert sent["parse_mode"] == "HTML"
    buttons = sent["reply_markup"]
    assert [b["callback_data"].rsplit(":", 1)[1] for b in buttons["inline_keyboard"][0]] == ["up", "down"]
    assert server.stored("inbox") == 1


def test_telegram_start_keeps_the_deep_link_and_offers_languages(start_server):
    server = start_server()
    tg_post(server, tg_message(10, "/start poster_kisumu"))
    server.drain()
    welcome, choose = server.telegram.sent()
    assert welcome["text"] == CATALOG.get("welcome", "en") and choose["text"] == CATALOG.get("choose_language", "en")
    assert server.runtime.store.query("SELECT payload FROM start_payloads") == [("poster_kisumu",)]
    callback = {"update_id": 11, "callback_query": {"id": "4382bfdwdsb323b2d9", "chat_instance": "-8855",
                                                    "from": {"id": CHAT, "is_bot": False, "first_name": "Amina"},
                                                    "message": {"message_id": 2, "date": 0, "text": "x",
                                                                "chat": {"id": CHAT, "type": "private"}},
                                                    "data": "lang:sw"}}
    tg_post(server, callback)
    server.drain()
    assert [name for name, _ in server.telegram.calls].count("answerCallbackQuery") == 1
    assert server.telegram.sent()[-1]["text"] == CATALOG.get("language_set", "sw")
    tg_post(server, tg_message(12, "/help"))
    server.drain()
    assert server.telegram.sent()[-1]["text"] == CATALOG.get("help", "sw")


def test_telegram_feedback_is_stored_and_acknowledged(start_server):
    server = start_server()
    tg_post(server, tg_message(20, "How do I control fall armyworm in maize?"))
    server.drain()
    outbox_id = server.runtime.store.query("SELECT max(id) FROM outbox")[0][0]
    callback = {"update_id": 21, "callback_query": {"id": "77", "chat_instance": "-1",
                                                    "from": {"id": CHAT, "is_bot": False, "first_name": "A"},
                                                    "data": f"fb:{outbox_id}:up"}}
    tg_post(server, callback)
    assert server.runtime.store.feedback()[0]["value"] == "up"
    answered = [p for name, p in server.telegram.calls if name == "answerCallbackQuery"]
    assert answered[-1]["text"] == CATALOG.get("feedback_thanks", "en")


def test_telegram_photos_and_voice_get_please_type(start_server):
    server = start_server()
    update = tg_message(30, "", photo=[{"file_id": "AgAD", "file_unique_id": "u1", "width": 90, "height": 90}])
    del update["message"]["text"]
    tg_post(server, update)
    server.drain()
    assert server.telegram.sent()[-1]["text"] == CATALOG.get("please_type", "en")


def test_telegram_send_failure_is_retried_and_delivered_once(start_server):
    server = start_server()
    server.telegram.fail_next = 1
    tg_post(server, tg_message(40, "hello"))
    server.drain()  # the first try fails; the retry (after 0.05 s here) succeeds
    assert server.runtime.store.query("SELECT status, attempts FROM outbox") == [("sent", 2)]
    time.sleep(0.2)
    assert len(server.telegram.sent()) == 1


def test_telegram_malformed_bodies_are_4xx(start_server):
    server = start_server()
    headers = {"X-Telegram-Bot-Api-Secret-Token": server.webhook_secret}
    assert server.client.post("/telegram/webhook", content=b"{not json", headers=headers).status_code == 400
    assert server.client.post("/telegram/webhook", json={"message": {}}, headers=headers).status_code == 400
    assert server.client.post("/telegram/webhook", json=[1, 2], headers=headers).status_code == 400
    assert server.stored("inbox") == 0


# Twilio -------------------------------------------------------------------------------------
def test_twilio_bad_signature_is_403_and_stores_nothing(start_server):
    server = start_server()
    assert twilio_post(server, sms("SM" + "a" * 32, "hello"), token="not-the-token").status_code == 403
    assert server.client.post("/sms/twilio", data=sms("SM" + "b" * 32, "hello")).status_code == 403
    assert server.stored("inbox") == 0


def test_twilio_reply_is_twiml_and_a_retry_is_answered_once(start_server):
    server = start_server()
    params = sms("SM" + "c" * 32, "How do I control fall armyworm in maize?")
    first = twilio_post(server, params)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/xml")
    assert "<Message>Act early while caterpillars are small" in first.text
    again = twilio_post(server, params)
    assert again.text.strip().endswith("<Response />") and "<Message>" not in again.text
    time.sleep(0.2)
    assert server.twilio.requests == []  # answered in the response, not by REST


def test_twilio_stop_start_and_help(start_server):
    server = start_server()
    n = iter(range(100))

    def send(body):
        return twilio_post(server, sms(f"SM{next(n):032d}", body)).text

    assert CATALOG.get("stopped", "en") in send("STOP")
    assert "<Message>" not in send("How do I control fall armyworm in maize?")
    assert CATALOG.get("started", "en") in send("ANZA")  # Swahili START; the reply keeps the user language
    assert "Act early" in send("How do I control fall armyworm in maize?")
    assert CATALOG.get("help", "en") in send("HELP")


def test_twilio_missing_fields_are_400(start_server):
    server = start_server()
    assert twilio_post(server, {"Body": "hi"}).status_code == 400


# Africa's Talking ---------------------------------------------------------------------------
def test_africastalking_secret_duplicates_and_sdk_reply(start_server):
    server = start_server()
    assert at_post(server, "a-1", "hello", secret="wrong").status_code == 403
    assert server.stored("inbox") == 0
    assert at_post(server, "a-2", "How do I control fall armyworm in maize?").status_code == 200
    assert at_post(server, "a-2", "How do I control fall armyworm in maize?").status_code == 200
    server.drain()
    [sent] = server.at.sent
    assert sent["recipients"] == ["+254711000111"] and sent["sender_id"] == "40123"
    assert sent["message"].startswith("Act early")
    assert at_post(server, "a-3", "").status_code == 200  # an empty text is stored and answered
    assert server.client.post(f"/sms/africastalking/{server.at_secret}", data={"text": "x"}).status_code == 400


def test_africastalking_failure_then_recovery_delivers_once(start_server):
    server = start_server()
    server.at.fail_next = 2
    at_post(server, "f-1", "hello")
    server.drain()  # two failures (retried after 0.05 s, then 0.1 s), then delivered
    assert server.runtime.store.query("SELECT status, attempts FROM outbox") == [("sent", 3)]
    time.sleep(0.2)
    assert len(server.at.sent) == 1


def test_a_restart_between_storing_and_replying_sends_the_reply_once(start_server, monkeypatch):
    first = start_server()

    async def crash(inbox_id):  # the process stops after the message was stored
        return None

    monkeypatch.setattr(first.runtime, "process", crash)
    assert at_post(first, "r-1", "How do I control fall armyworm in maize?").status_code == 200
    assert first.stored("inbox") == 1 and first.stored("outbox") == 0
    first.client.__exit__(None, None, None)

    second = start_server()  # same data folder: resumes what was stored
    second.drain()
    assert len(second.at.sent) == 1 and second.at.sent[0]["message"].startswith("Act early")
    at_post(second, "r-1", "How do I control fall armyworm in maize?")  # the provider retries too
    time.sleep(0.2)
    assert len(second.at.sent) == 1 and second.stored("outbox") == 1


def test_the_rate_limit_reaches_sms_users(start_server):
    server = start_server(rate_limit_per_minute=2)
    for n in range(4):
        at_post(server, f"rl-{n}", "hello")
    server.drain()
    texts = [s["message"] for s in server.at.sent]
    assert texts == [CATALOG.get("greeting", "en")] * 2 + [CATALOG.get("rate_limited", "en")]


def test_status_endpoints(start_server):
    server = start_server()
    assert server.client.get("/healthz").json() == {"status": "ok"}
    ready = server.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["entries"] == 182
    at_post(server, "m-1", "hello")
    server.drain()
    metrics = server.client.get("/metrics").text
    assert 'ushauri_messages_total{channel="africastalking",reason="GREETING"} 1.0' in metrics
    assert "ushauri_reply_seconds_bucket" in metrics and "ushauri_outbox_backlog 0.0" in metrics


def test_large_bodies_are_413(start_server):
    server = start_server()
    big = "x" * 70000
    assert server.client.post("/chat/send", content=big, headers={"Content-Type": "application/json"}).status_code == 413
    assert at_post(server, "big", big).status_code == 413


def test_a_twilio_message_left_unanswered_by_a_crash_is_answered_by_rest(start_server, monkeypatch):
    first = start_server()
    monkeypatch.setattr(first.runtime.dispatcher, "process", lambda inbox_id, hold=0.0: [])  # stops after storing
    assert twilio_post(first, sms("SM" + "d" * 32, "How do I control fall armyworm in maize?")).status_code == 200
    first.client.__exit__(None, None, None)
    second = start_server()
    second.drain()
    [request] = second.twilio.requests
    assert request["url"].endswith(f"/Accounts/{'AC' + '0' * 32}/Messages.json")
    assert request["data"]["To"] == "+15551234567" and request["data"]["From"] == "+15550001111"
    assert request["data"]["Body"].startswith("Act early")


def test_web_chat_malformed_and_chunked_bodies(start_server):
    server = start_server()
    api = server.client
    assert api.post("/chat/send", content=b"{bad", headers={"Content-Type": "application/json"}).status_code == 422
    assert api.post("/chat/send", json={"session": "short", "id": "abcdefgh", "text": "hi"}).status_code == 422
    assert api.get("/chat/poll", params={"session": "no spaces allowed"}).status_code == 400
    body = b'{"session": "abcdefgh1", "id": "abcdefgh2", "text": "hello"}'
    chunked = api.post("/chat/send", content=iter([body]), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 200 and chunked.json()["replies"][0]["text"] == CATALOG.get("greeting", "en")
    big = api.post("/chat/send", content=iter([b"x" * 70000]), headers={"Content-Type": "application/json"})
    assert big.status_code == 413
    assert server.stored("inbox") == 1
