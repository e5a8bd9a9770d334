"""`ushauri serve`, `ushauri telegram ...` and `ushauri operators add`."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from knowledge.errors import BadInputError

from .common import DataDir, handle_errors, settings_for

telegram_app = typer.Typer(help="Connect a Telegram bot.", no_args_is_help=True)
operators_app = typer.Typer(help="Operator API keys.", no_args_is_help=True)


@handle_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Listen on this address (default: USHAURI_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen on this port (default: USHAURI_PORT).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the server: web chat at /, channels' webhooks, the operator API (/docs)."""
    import uvicorn

    from bot.logs import json_logging
    from bot.server import create_app

    settings = settings_for(data_dir)
    host, port = host or settings.host, port or settings.port
    json_logging()
    app = create_app(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"web chat: http://{shown}:{port}/   operator API docs: http://{shown}:{port}/docs   (Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)


def token_of(settings) -> str:
    if settings.telegram_bot_token is None:
        raise BadInputError("USHAURI_TELEGRAM_BOT_TOKEN is not set (ask @BotFather for one)")
    return settings.telegram_bot_token.get_secret_value()


@telegram_app.command("set-webhook")
@handle_errors
def set_webhook(
    url: Annotated[str | None, typer.Option(help="The public base URL (default: USHAURI_PUBLIC_URL).")] = None,
    drop_pending: Annotated[bool, typer.Option("--drop-pending", help="Discard updates waiting at Telegram.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Tell Telegram where to deliver updates: <url>/telegram/webhook, with the secret token."""
    from telegram import Bot, Update

    settings = settings_for(data_dir)
    base = url or settings.public_url
    if not base or not base.startswith("https://"):
        raise BadInputError("--url: Telegram needs a public https:// URL (or set USHAURI_PUBLIC_URL)")
    if settings.telegram_webhook_secret is None:
        raise BadInputError("USHAURI_TELEGRAM_WEBHOOK_SECRET is not set (1-256 of A-Z a-z 0-9 _ -)")

    async def run() -> None:
        async with Bot(token_of(settings)) as bot:
            await bot.set_webhook(url=base.rstrip("/") + "/telegram/webhook",
                                  secret_token=settings.telegram_webhook_secret.get_secret_value(),
                                  allowed_updates=Update.ALL_TYPES, drop_pending_updates=drop_pending)
            info = await bot.get_webhook_info()
            typer.echo(f"webhook set: {info.url} (pending updates: {info.pending_update_count})")

    asyncio.run(run())


@telegram_app.command("poll")
@handle_errors
def poll(data_dir: DataDir = None) -> None:
    """Run the Telegram bot by polling (no public URL needed; removes a webhook). Ctrl-C stops."""
    from telegram import Update

    from bot.server import create_app

    settings = settings_for(data_dir)
    token_of(settings)
    app = create_app(settings, telegram_polling=True)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            updater = app.state.runtime.telegram.updater
            await app.state.runtime.telegram.bot.delete_webhook()
            await updater.start_polling(allowed_updates=Update.ALL_TYPES)
            typer.echo("polling Telegram; Ctrl-C stops")
            try:
                await asyncio.Event().wait()
            finally:
                await updater.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        logging.getLogger(__name__).info("stopped")


@operators_app.command("add")
@handle_errors
def add_operator(name: Annotated[str, typer.Argument(help="Who the key is for.")], data_dir: DataDir = None) -> None:
    """Create an operator API key; it is printed once and only its hash is kept."""
    from bot.store import MessageStore

    settings = settings_for(data_dir)
    store = MessageStore(settings.db_path)
    key = store.add_operator(name)
    store.close()
    typer.echo(f"operator '{name}' added; their API key (shown only now): {key}")
    typer.echo("use it as the X-API-Key header on /api/... (see /docs)")
