"""SMS through Twilio and Africa's Talking: webhooks that authenticate, store, then answer.

Twilio: `X-Twilio-Signature` checked with twilio's RequestValidator against the configured public
URL; the reply goes back as TwiML in the response (and by the REST API from the outbox if that
response never happened). Africa's Talking: a secret in the URL compared in constant time; the
callback is acknowledged at once and the reply sent through the SDK from the outbox.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from .dispatch import AFRICASTALKING, TWILIO, user_key
from .store import Outbound

router = APIRouter(tags=["channels"])
TWIML_HOLD_SECONDS = 30.0  # the outbox sends a TwiML reply by REST only if the response never went out


def twiml(texts: list[str]) -> Response:
    response = MessagingResponse()
    for text in texts:
        response.message(text)
    return Response(str(response), media_type="application/xml")


def public_url(request: Request, base: str) -> str:
    url = base.rstrip("/") + request.url.path
    return url + ("?" + request.url.query if request.url.query else "")


async def form_fields(request: Request, required: tuple[str, ...]) -> dict[str, str]:
    form = await request.form()
    missing = [name for name in required if not form.get(name)]
    if missing:
        raise HTTPException(400, f"missing form fields: {', '.join(missing)}")
    return {key: str(value) for key, value in form.items()}


@router.post("/sms/twilio", summary="Twilio incoming SMS webhook")
async def twilio_webhook(request: Request) -> Response:
    runtime = request.app.state.runtime
    settings = runtime.settings
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    if not token or not settings.public_url:
        raise HTTPException(403, "Twilio is not configured")
    form = await request.form()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not RequestValidator(token).validate(public_url(request, settings.public_url), form, signature):
        raise HTTPException(403, "bad signature")
    fields = await form_fields(request, ("MessageSid", "From"))
    sender = fields["From"]
    inbox_id, new = runtime.store.receive(TWILIO, fields["MessageSid"], user_key(TWILIO, sender), sender,
                                          fields.get("Body", ""), {"to": fields.get("To")})
    if not new:
        return twiml([])  # a provider retry: answered once already
    ids = await run_in_threadpool(runtime.dispatcher.process, inbox_id, TWIML_HOLD_SECONDS)
    texts = []
    for outbox_id in ids:
        texts.append(runtime.store.outbound(outbox_id).text)
        runtime.store.mark_sent(outbox_id)
        runtime.metrics.sent.labels(TWILIO).inc()
    return twiml(texts)


@router.post("/sms/africastalking/{secret}", summary="Africa's Talking incoming SMS callback")
async def africastalking_webhook(secret: str, request: Request, background: BackgroundTasks) -> Response:
    runtime = request.app.state.runtime
    configured = runtime.settings.africastalking_callback_secret
    if configured is None or not hmac.compare_digest(secret.encode(), configured.get_secret_value().encode()):
        raise HTTPException(403, "bad secret")
    fields = await form_fields(request, ("id", "from"))
    sender = fields["from"]
    inbox_id, new = runtime.store.receive(AFRICASTALKING, fields["id"], user_key(AFRICASTALKING, sender), sender,
                                          fields.get("text", ""), {"to": fields.get("to"), "linkId": fields.get("linkId")})
    if new:
        background.add_task(runtime.process, inbox_id)
    return Response("OK", media_type="text/plain")


def twilio_sender(client, from_number: str | None) -> Callable:
    async def send(row: Outbound) -> None:
        if not from_number:
            raise RuntimeError("USHAURI_TWILIO_FROM_NUMBER is not set")
        await run_in_threadpool(client.messages.create, to=row.address, from_=from_number, body=row.text)
    return send


def africastalking_sender(sms_service, sender_id: str | None) -> Callable:
    async def send(row: Outbound) -> None:
        kwargs = {"sender_id": sender_id} if sender_id else {}
        result = await run_in_threadpool(sms_service.send, row.text, [row.address], **kwargs)
        recipients = (result or {}).get("SMSMessageData", {}).get("Recipients", [])
        if not recipients or any(r.get("statusCode") not in (100, 101, 102) for r in recipients):
            raise RuntimeError(f"Africa's Talking did not accept the message: {recipients}")
    return send
