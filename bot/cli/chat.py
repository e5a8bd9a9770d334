"""`ushauri ask` and `ushauri chat`: the advisor engine from the command line."""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from advisor.channels import CHANNELS, SMS, TERMINAL
from advisor.engine import Advisor
from advisor.reply import Message, Reply, check_channel
from knowledge.errors import BadInputError

from .common import DataDir, JsonFlag, handle_errors, settings_for

Language = Annotated[str | None, typer.Option("--language", "-l", help="Reply in this language.")]


def check_language(language: str | None, configured: list[str]) -> None:
    if language is not None and language not in configured:
        raise BadInputError(f"--language: unknown language '{language}'; configured: {', '.join(configured)}")


def describe(reply: Reply, channel: str) -> str:
    """The parts as the channel would send them, with their sizes for SMS."""
    if channel != SMS:
        return "\n\n".join(part.text for part in reply.parts)
    lines = []
    for number, part in enumerate(reply.parts, start=1):
        lines.append(f"--- SMS {number}/{len(reply.parts)}: {part.segments} segment(s), {part.encoding},"
                     f" {len(part.text)} characters")
        lines.append(part.text)
    return "\n".join(lines)


def ask(
    text: Annotated[str, typer.Argument(help="The message, as a person would send it.")],
    channel: Annotated[str, typer.Option("--channel", "-c", help=f"One of: {', '.join(CHANNELS)}.")] = "web",
    user: Annotated[str | None, typer.Option("--user", "-u", help="Answer as this user, keeping their "
                                             "conversation (menus, MORE, language). Without it nothing is stored.")] = None,
    language: Language = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Send one message and print exactly what the channel would send back."""
    settings = settings_for(data_dir)
    check_language(language, settings.languages)
    check_channel(channel)
    advisor = Advisor.open(settings).load()  # models and index load outside the timed reply
    reply = advisor.reply(Message(text, user or "preview", channel, language, preview=user is None))
    if as_json:
        typer.echo(json.dumps(reply.to_dict(), ensure_ascii=False))
    else:
        typer.echo(describe(reply, channel))
    advisor.close()


def chat(
    language: Language = None,
    channel: Annotated[str, typer.Option("--channel", "-c", help="Size replies as this channel would.")] = TERMINAL,
    data_dir: DataDir = None,
) -> None:
    """Talk to Ushauri in the terminal (type 'exit' or press Ctrl-D to leave)."""
    settings = settings_for(data_dir)
    check_language(language, settings.languages)
    check_channel(channel)
    advisor = Advisor.open(settings).load()  # before the first question, not during it
    user = f"terminal:{getpass.getuser()}"
    lang = language or advisor.memory.get(user).language or settings.default_language
    typer.echo(advisor.catalog.get("chat_welcome", lang))
    while True:
        try:
            text = input(f"{advisor.catalog.get('chat_prompt', lang)}> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if text.lower() in {"exit", "quit", "q"}:
            break
        if not text:
            continue
        reply = advisor.reply(Message(text, user, channel, language))
        lang = reply.language
        typer.echo(f"Ushauri> {describe(reply, channel)}\n")
    advisor.close()


ask = handle_errors(ask)
chat = handle_errors(chat)
