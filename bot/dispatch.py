"""From a stored inbound message to stored replies: SMS subscription words, then the engine.

Providers are the inbox channels: telegram, twilio, africastalking, web. The engine sees the
channel profile each one uses (Telegram, SMS, web). User keys are `provider:address`, so the
expert loop can answer a person on the channel they wrote from.
"""

from __future__ import annotations

import time

from advisor.engine import Advisor
from advisor.reply import Message, Reply

from .metrics import Metrics
from .store import Inbound, MessageStore

TELEGRAM, TWILIO, AFRICASTALKING, WEB = "telegram", "twilio", "africastalking", "web"
PROFILE = {TELEGRAM: "telegram", TWILIO: "sms", AFRICASTALKING: "sms", WEB: "web"}
SMS_PROVIDERS = {TWILIO, AFRICASTALKING}


def user_key(provider: str, address: str) -> str:
    return f"{provider}:{address}"


def split_user_key(key: str) -> tuple[str, str]:
    provider, _, address = key.partition(":")
    return provider, address


class Dispatcher:
    def __init__(self, advisor: Advisor, store: MessageStore, metrics: Metrics):
        self.advisor, self.store, self.metrics = advisor, store, metrics

    def say(self, key: str, user: str) -> str:
        conversation = self.advisor.memory.get(user)
        return self.advisor.catalog.get(key, conversation.language or self.advisor.settings.default_language)

    def engine_reply_text(self, key: str, text: str, provider: str) -> Reply:
        started = time.perf_counter()
        reply = self.advisor.reply(Message(text, key, PROFILE[provider]))
        self.metrics.replied(provider, str(reply.reason), time.perf_counter() - started)
        return reply

    def engine_reply(self, inbound: Inbound) -> Reply:
        return self.engine_reply_text(inbound.user_key, inbound.text, inbound.channel)

    def replies_for(self, inbound: Inbound) -> list[tuple[str, dict]]:
        """The texts to send back (with channel options) for one SMS or web message."""
        if inbound.channel in SMS_PROVIDERS:
            command = self.advisor.keywords.sms_command(inbound.text)
            if command == "stop":
                self.store.set_stopped(inbound.channel, inbound.address, True)
                self.metrics.replied(inbound.channel, "STOP", 0.0)
                return [(self.say("stopped", inbound.user_key), {})]
            if command == "start":
                self.store.set_stopped(inbound.channel, inbound.address, False)
                self.metrics.replied(inbound.channel, "START", 0.0)
                return [(self.say("started", inbound.user_key), {})]
            if self.store.is_stopped(inbound.channel, inbound.address):
                self.metrics.replied(inbound.channel, "STOPPED", 0.0)
                return []
            if command == "help":
                self.metrics.replied(inbound.channel, "HELP", 0.0)
                return [(self.say("help", inbound.user_key), {})]
        reply = self.engine_reply(inbound)
        return [(part.text, {"parse_mode": part.parse_mode} if part.parse_mode else {}) for part in reply.parts]

    def process(self, inbox_id: int, hold_seconds: float = 0.0) -> list[int]:
        """Process one stored message (blocking: run it in a thread). Returns the queued reply ids."""
        inbound = self.store.inbound(inbox_id)
        if inbound.status == "done":
            return []
        replies = self.replies_for(inbound)
        return self.store.complete(inbox_id, [(inbound.channel, inbound.user_key, inbound.address, text, options)
                                              for text, options in replies], hold_seconds)
