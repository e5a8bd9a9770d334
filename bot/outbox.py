"""The outbox worker: sends stored replies through each channel's sender, with retries.

A failed send is retried after `outbox_backoff_seconds`, doubling each time (at most ten
minutes), and marked `failed` after `outbox_max_attempts`; every attempt's error is recorded. On
start-up the worker simply finds what is still pending. Web replies are not sent by the worker:
the web chat fetches them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from advisor.safety import mask_pii

from .dispatch import WEB
from .metrics import Metrics
from .store import MessageStore, Outbound

log = logging.getLogger(__name__)
Sender = Callable[[Outbound], Awaitable[None]]
MAX_DELAY = 600.0


class OutboxWorker:
    def __init__(self, store: MessageStore, senders: dict[str, Sender], metrics: Metrics,
                 max_attempts: int, backoff: float):
        self.store, self.senders, self.metrics = store, senders, metrics
        self.max_attempts, self.backoff = max_attempts, backoff
        self.wake_up = asyncio.Event()
        self._task: asyncio.Task | None = None

    def wake(self) -> None:
        self.wake_up.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="ushauri-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def run(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:  # never let one bad row stop the worker
                log.exception("outbox worker error")
            next_at = self.store.next_due_at()
            timeout = 5.0 if next_at is None else min(5.0, max(0.05, next_at - time.time()))
            self.wake_up.clear()
            try:
                await asyncio.wait_for(self.wake_up.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    async def drain(self) -> int:
        """Send everything due now; returns how many were delivered."""
        delivered = 0
        for row in self.store.due():
            if row.channel == WEB or not self.store.claim(row.id):
                continue
            delivered += await self.deliver(row)
        return delivered

    async def deliver(self, row: Outbound) -> int:
        sender = self.senders.get(row.channel)
        try:
            if sender is None:
                raise RuntimeError(f"channel '{row.channel}' is not configured")
            await sender(row)
        except Exception as exc:  # a provider error: retry later
            attempts = row.attempts + 1
            give_up = attempts >= self.max_attempts
            delay = min(MAX_DELAY, self.backoff * 2 ** (attempts - 1))
            self.store.mark_retry(row.id, f"{type(exc).__name__}: {exc}", time.time() + delay, give_up)
            self.metrics.send_errors.labels(row.channel).inc()
            log.warning("sending outbox %s to %s failed (attempt %s%s): %s", row.id, mask_pii(row.address), attempts,
                        ", giving up" if give_up else f", retry in {delay:.0f} s", mask_pii(str(exc)))
            return 0
        self.store.mark_sent(row.id)
        self.metrics.sent.labels(row.channel).inc()
        return 1
