"""The FastAPI app: `create_app(settings)` builds it; models, index and the Telegram Application
load in its lifespan; stored work left from a previous run is resumed there too."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from advisor.engine import Advisor
from knowledge.settings import Settings

from . import api, sms, telegram, web
from .dispatch import AFRICASTALKING, TELEGRAM, TWILIO, Dispatcher
from .metrics import Metrics
from .outbox import OutboxWorker
from .store import MessageStore

log = logging.getLogger(__name__)


@dataclass
class Edges:
    """What stands where the network would be; tests put fakes here, production leaves it empty."""

    telegram_request: object | None = None  # a telegram.request.BaseRequest
    twilio_client: object | None = None  # a twilio.rest.Client
    africastalking_sms: object | None = None  # an object with send(message, recipients, sender_id=...)


@dataclass
class Runtime:
    settings: Settings
    store: MessageStore
    metrics: Metrics
    advisor: Advisor | None = None
    dispatcher: Dispatcher | None = None
    worker: OutboxWorker | None = None
    telegram: object | None = None
    ready: bool = False
    senders: dict = field(default_factory=dict)

    async def process(self, inbox_id: int) -> None:
        """Process a stored message (SMS, web) and wake the outbox."""
        inbound = self.store.inbound(inbox_id)
        if inbound.channel == TELEGRAM:
            if self.telegram is None:  # stored while Telegram was configured; it is not any more
                log.warning("telegram update %s left unanswered: no USHAURI_TELEGRAM_BOT_TOKEN", inbound.provider_id)
                self.store.complete(inbox_id, [])
            else:
                from telegram import Update

                await self.telegram.process_update(Update.de_json(inbound.payload, self.telegram.bot))
        else:
            await run_in_threadpool(self.dispatcher.process, inbox_id)
        self.worker.wake()


def senders_for(runtime: Runtime, edges: Edges) -> dict:
    settings = runtime.settings
    senders = {}
    if runtime.telegram is not None:
        senders[TELEGRAM] = telegram.telegram_sender(runtime.telegram)
    client = edges.twilio_client
    if client is None and settings.twilio_account_sid and settings.twilio_auth_token:
        from twilio.rest import Client

        client = Client(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value())
    if client is not None:
        senders[TWILIO] = sms.twilio_sender(client, settings.twilio_from_number)
    service = edges.africastalking_sms
    if service is None and settings.africastalking_username and settings.africastalking_api_key:
        import africastalking

        africastalking.initialize(settings.africastalking_username, settings.africastalking_api_key.get_secret_value())
        service = africastalking.SMS
    if service is not None:
        senders[AFRICASTALKING] = sms.africastalking_sender(service, settings.africastalking_sender_id)
    return senders


def create_app(settings: Settings, edges: Edges | None = None, advisor: Advisor | None = None,
               telegram_polling: bool = False, state_db: Path | None = None) -> FastAPI:
    """The Ushauri server. `advisor` may be handed in (tests share one); otherwise it loads here.
    `state_db`: where the inbox, outbox and operator keys live (default: the data folder's database)."""
    edges = edges or Edges()
    store = MessageStore(state_db or settings.db_path)
    runtime = Runtime(settings, store, Metrics(store.backlog))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        runtime.advisor = advisor or await run_in_threadpool(lambda: Advisor.open(settings).load())
        runtime.dispatcher = Dispatcher(runtime.advisor, store, runtime.metrics)
        if settings.telegram_bot_token is not None:
            runtime.telegram = telegram.build_application(runtime, settings.telegram_bot_token.get_secret_value(),
                                                          edges.telegram_request, telegram_polling)
            await runtime.telegram.initialize()
            await runtime.telegram.start()
        runtime.senders = senders_for(runtime, edges)
        runtime.worker = OutboxWorker(store, runtime.senders, runtime.metrics, settings.outbox_max_attempts,
                                      settings.outbox_backoff_seconds)
        for inbox_id in store.unprocessed():  # what a previous run stored but did not answer
            await runtime.process(inbox_id)
        runtime.worker.start()
        runtime.ready = True
        log.info("Ushauri is ready (channels: %s)", ", ".join(sorted(runtime.senders)) or "web only")
        try:
            yield
        finally:
            runtime.ready = False
            await runtime.worker.stop()
            if runtime.telegram is not None:
                await runtime.telegram.stop()
                await runtime.telegram.shutdown()
            if advisor is None:
                runtime.advisor.close()
            store.close()

    app = FastAPI(title="Ushauri", summary="Advice for farmers and patients", lifespan=lifespan)
    app.state.runtime = runtime

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return JSONResponse({"detail": f"request body over {settings.max_body_bytes} bytes"}, status_code=413)
        if length is None and request.method in ("POST", "PUT", "PATCH"):
            body = await request.body()
            if len(body) > settings.max_body_bytes:
                return JSONResponse({"detail": f"request body over {settings.max_body_bytes} bytes"}, status_code=413)
        return await call_next(request)

    @app.get("/healthz", tags=["status"])
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", tags=["status"])
    async def readyz() -> Response:
        if not runtime.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ready", "entries": runtime.advisor.kb.store.count("published"),
                             "index_rows": runtime.advisor.kb.index.index.ntotal,
                             "classifier": runtime.advisor.classifier is not None})

    @app.get("/metrics", tags=["status"])
    async def metrics() -> Response:
        return PlainTextResponse(runtime.metrics.render(), media_type="text/plain; version=0.0.4")

    app.include_router(telegram.router)
    app.include_router(sms.router)
    app.include_router(web.router)
    app.include_router(api.router)
    return app
