"""Prometheus metrics of one app: messages by channel and reason, reply latency, outbox backlog."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, backlog: Callable[[], int] | None = None):
        self.registry = CollectorRegistry()
        self.messages = Counter("ushauri_messages", "Messages answered, by channel and reason",
                                ["channel", "reason"], registry=self.registry)
        self.latency = Histogram("ushauri_reply_seconds", "Time to compute a reply", ["channel"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.sent = Counter("ushauri_outbox_sent", "Outbound messages delivered, by channel", ["channel"],
                            registry=self.registry)
        self.send_errors = Counter("ushauri_outbox_errors", "Failed delivery attempts, by channel", ["channel"],
                                   registry=self.registry)
        self.backlog = Gauge("ushauri_outbox_backlog", "Outbound messages waiting to be sent", registry=self.registry)
        if backlog is not None:
            self.backlog.set_function(backlog)

    def replied(self, channel: str, reason: str, seconds: float) -> None:
        self.messages.labels(channel, reason).inc()
        self.latency.labels(channel).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
