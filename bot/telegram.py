"""Telegram through python-telegram-bot v22, inside the app (no Updater).

The webhook checks `X-Telegram-Bot-Api-Secret-Token` in constant time and hands the update to the
Application. A first handler stores every update in the inbox (its `update_id` is the dedup key,
persisted) and stops duplicates; the handlers queue their replies in the outbox, which sends
them through the Bot API. `ushauri telegram poll` runs the same Application with polling.
"""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application, ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler,
    TypeHandler, filters,
)

from advisor.reply import Reason

from .dispatch import TELEGRAM, user_key
from .store import Outbound

log = logging.getLogger(__name__)
router = APIRouter(tags=["channels"])


def build_application(runtime, token: str, request=None, polling: bool = False) -> Application:
    """The Application: without an Updater inside the server (webhook), with one for polling."""
    builder = Application.builder().token(token)
    if not polling:
        builder = builder.updater(None)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    handlers = TelegramHandlers(runtime)
    app.add_handler(TypeHandler(Update, handlers.store_update), group=-1)
    app.add_handler(CommandHandler("start", handlers.start))
    app.add_handler(CommandHandler("help", handlers.help))
    app.add_handler(CommandHandler("language", handlers.language))
    app.add_handler(CallbackQueryHandler(handlers.choose_language, pattern=r"^lang:"))
    app.add_handler(CallbackQueryHandler(handlers.feedback, pattern=r"^fb:"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.text))
    app.add_handler(MessageHandler(filters.VOICE | filters.AUDIO | filters.PHOTO | filters.Sticker.ALL
                                   | filters.VIDEO | filters.Document.ALL, handlers.not_text))
    app.add_handler(TypeHandler(Update, handlers.finish), group=1)
    app.add_error_handler(handlers.error)
    return app


class TelegramHandlers:
    def __init__(self, runtime):
        self.runtime = runtime

    @property
    def store(self):
        return self.runtime.store

    def user(self, update: Update) -> tuple[str, str]:
        chat = update.effective_chat
        address = str(chat.id if chat else update.effective_user.id)
        return user_key(TELEGRAM, address), address

    def queue(self, context: ContextTypes.DEFAULT_TYPE, update: Update, replies: list[tuple[str, dict]]) -> None:
        key, address = self.user(update)
        self.store.complete(self.inbox_id(update), [(TELEGRAM, key, address, text, options) for text, options in replies])
        self.runtime.worker.wake()

    def inbox_id(self, update: Update) -> int | None:
        rows = self.store.query("SELECT id FROM inbox WHERE channel = ? AND provider_id = ?",
                                (TELEGRAM, str(update.update_id)))
        return rows[0][0] if rows else None

    def say(self, update: Update, key: str) -> str:
        return self.runtime.dispatcher.say(key, self.user(update)[0])

    def language_buttons(self) -> dict:
        catalog = self.runtime.advisor.catalog
        return {"buttons": [[(catalog.get("language_name", lang), f"lang:{lang}")]
                            for lang in self.runtime.settings.languages]}

    # Handlers -------------------------------------------------------------------------------
    async def store_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update is stored before it is handled; one seen and handled before stops here."""
        if update.effective_chat is None and update.effective_user is None:
            raise ApplicationHandlerStop
        key, address = self.user(update)
        if update.callback_query is not None:
            text = update.callback_query.data or ""
        else:
            text = (update.effective_message.text or "") if update.effective_message else ""
        inbox_id, new = self.store.receive(TELEGRAM, str(update.update_id), key, address, text,
                                           json.loads(json.dumps(update.to_dict(), default=str)))
        if not new and self.store.inbound(inbox_id).status == "done":
            raise ApplicationHandlerStop

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.args:  # a deep link: t.me/<bot>?start=<payload>
            self.store.keep_start_payload(self.user(update)[0], context.args[0])
        self.queue(context, update, [(self.say(update, "welcome"), {}),
                                     (self.say(update, "choose_language"), self.language_buttons())])

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.queue(context, update, [(self.say(update, "help"), {})])

    async def language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.queue(context, update, [(self.say(update, "choose_language"), self.language_buttons())])

    async def choose_language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        language = query.data.split(":", 1)[1]
        await query.answer()
        if language not in self.runtime.settings.languages:
            self.queue(context, update, [])
            return
        reply = await run_in_threadpool(self.runtime.dispatcher.engine_reply_text, self.user(update)[0],
                                        f"LANG {language}", TELEGRAM)
        self.queue(context, update, [(part.text, {"parse_mode": part.parse_mode}) for part in reply.parts])

    async def feedback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        _, outbox_id, value = (query.data.split(":") + ["", ""])[:3]
        if outbox_id.isdigit() and value in ("up", "down"):
            self.store.add_feedback(int(outbox_id), self.user(update)[0], value)
            await query.answer(self.say(update, "feedback_thanks"))
        else:
            await query.answer()
        self.queue(context, update, [])

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        key, _ = self.user(update)
        reply = await run_in_threadpool(self.runtime.dispatcher.engine_reply_text, key, update.effective_message.text,
                                        TELEGRAM)
        parts = [(part.text, {"parse_mode": part.parse_mode}) for part in reply.parts]
        if parts and reply.reason in (Reason.ANSWERED, Reason.URGENT) and reply.answer_ids:
            parts[-1][1]["feedback"] = True
        self.queue(context, update, parts)

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.queue(context, update, [(self.say(update, "please_type"), {})])

    async def finish(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Updates no handler answered (edits, reactions...) are marked processed with no reply."""
        inbox_id = self.inbox_id(update)
        if inbox_id is not None:
            self.store.complete(inbox_id, [])

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update %s failed", getattr(update, "update_id", "?"), exc_info=context.error)


def keyboard(row: Outbound) -> InlineKeyboardMarkup | None:
    if row.options.get("buttons"):
        return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in line]
                                     for line in row.options["buttons"]])
    if row.options.get("feedback"):
        return InlineKeyboardMarkup([[InlineKeyboardButton("👍", callback_data=f"fb:{row.id}:up"),
                                      InlineKeyboardButton("👎", callback_data=f"fb:{row.id}:down")]])
    return None


def telegram_sender(application: Application):
    async def send(row: Outbound) -> None:
        await application.bot.send_message(chat_id=int(row.address), text=row.text,
                                           parse_mode=row.options.get("parse_mode"), reply_markup=keyboard(row))
    return send


@router.post("/telegram/webhook", summary="Telegram webhook")
async def telegram_webhook(request: Request) -> Response:
    runtime = request.app.state.runtime
    secret = runtime.settings.telegram_webhook_secret
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if runtime.telegram is None or secret is None or not hmac.compare_digest(
            given.encode(), secret.get_secret_value().encode()):
        raise HTTPException(403, "bad secret token")
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(400, "the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise HTTPException(400, "not a Telegram update: no integer update_id")
    try:
        update = Update.de_json(data, runtime.telegram.bot)
    except Exception:
        raise HTTPException(400, "not a Telegram update") from None
    await runtime.telegram.process_update(update)
    return Response(status_code=200)
