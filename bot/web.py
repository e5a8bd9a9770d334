"""The web chat: a page at `/` and two JSON endpoints, a channel of its own (profile `web`).

Messages are stored like any other (the page's own message id is the dedup key); replies are
queued in the outbox and delivered in the response, and later ones (an expert's answer) when
the page asks `/chat/poll`.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from .dispatch import WEB, user_key

router = APIRouter(tags=["web chat"])
PAGE = Path(__file__).parent / "static" / "chat.html"
SESSION = r"^[A-Za-z0-9_-]{8,64}$"
HOLD_SECONDS = 3600.0  # web replies are fetched by the page, never pushed by the worker


class ChatIn(BaseModel):
    session: str = Field(pattern=SESSION, description="the page's random session id")
    id: str = Field(pattern=SESSION, description="the page's id for this message (retries reuse it)")
    text: str = Field(max_length=4000)


class ChatReply(BaseModel):
    id: int
    text: str


class ChatOut(BaseModel):
    replies: list[ChatReply]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))


def deliver(store, rows) -> list[ChatReply]:
    for row in rows:
        store.mark_sent(row.id)
    return [ChatReply(id=row.id, text=row.text) for row in rows]


@router.post("/chat/send", response_model=ChatOut)
async def send(message: ChatIn, request: Request) -> ChatOut:
    runtime = request.app.state.runtime
    store = runtime.store
    inbox_id, new = store.receive(WEB, f"{message.session}:{message.id}", user_key(WEB, message.session),
                                  message.session, message.text)
    if new:
        await run_in_threadpool(runtime.dispatcher.process, inbox_id, HOLD_SECONDS)
    return ChatOut(replies=deliver(store, store.replies_to(inbox_id)))


@router.get("/chat/poll", response_model=ChatOut)
async def poll(session: str, request: Request, after: int = 0) -> ChatOut:
    if not re.match(SESSION, session):
        raise HTTPException(400, "session: 8 to 64 letters, digits, '-' or '_'")
    store = request.app.state.runtime.store
    rows = [r for r in store.sent_to(WEB, session, after) if r.status == "pending"]
    return ChatOut(replies=deliver(store, rows))
