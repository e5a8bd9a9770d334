"""`ushauri ask` and `ushauri chat`: answers straight from the knowledge base.

The advisor engine (classifier, safety filters, channel sizing) takes over these commands in
its own issue; until then a reply is the best entry's answer when the match is confident.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from advisor.catalog import Catalog
from advisor.language import LanguageDetector
from knowledge.base import KnowledgeBase
from knowledge.errors import BadInputError
from knowledge.search import Hit

from .common import DataDir, JsonFlag, handle_errors, settings_for


def confident(hit: Hit, min_score: float) -> bool:
    """A match worth answering: close in meaning, or the top result of both retrievers."""
    return (hit.dense is not None and hit.dense >= min_score) or (hit.dense_rank == 1 and hit.lexical_rank == 1)


def check_language(language: str | None, configured: list[str]) -> None:
    if language is not None and language not in configured:
        raise BadInputError(f"--language: unknown language '{language}'; configured: {', '.join(configured)}")


def kb_reply(kb: KnowledgeBase, catalog: Catalog, text: str, language: str) -> dict:
    """One message in `language`, the reply in the shape of `ushauri ask --json` (design.md)."""
    started = time.perf_counter()
    hits = kb.search(text, language=language, k=5)
    retrieved = time.perf_counter()
    reply_language = language
    if hits and confident(hits[0], kb.settings.answer_min_score):
        entry = kb.store.get(hits[0].entry_id)
        if reply_language not in entry.answers:
            reply_language = kb.settings.default_language if kb.settings.default_language in entry.answers else next(iter(entry.answers))
        reply, reason = entry.answers[reply_language], "ANSWERED"
    else:
        reply, reason = catalog.get("no_match", reply_language), "NO_MATCH"
    done = time.perf_counter()
    return {
        "reply": reply,
        "parts": [{"text": reply, "segments": None, "encoding": None}],
        "language": reply_language,
        "reason": reason,
        "entries": [{"id": h.entry_id, "score": round(h.score, 4), "dense": h.dense, "lexical": h.lexical} for h in hits],
        "timings_ms": {"retrieve": round((retrieved - started) * 1000, 1), "total": round((done - started) * 1000, 1)},
    }


def ask(
    text: Annotated[str, typer.Argument(help="The message, as a person would send it.")],
    language: Annotated[str | None, typer.Option("--language", "-l", help="Reply in this language.")] = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Send one message and print the reply."""
    settings = settings_for(data_dir)
    check_language(language, settings.languages)
    kb = KnowledgeBase(settings).load()  # the model and index load outside the timed reply
    detector = LanguageDetector(kb.settings.languages)
    started = time.perf_counter()
    language = language or detector.detect(text, kb.settings.default_language).language
    detected = time.perf_counter()
    result = kb_reply(kb, Catalog(default_language=kb.settings.default_language), text, language)
    result["timings_ms"] = {"language": round((detected - started) * 1000, 1), **result["timings_ms"]}
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        typer.echo(result["reply"])


def chat(
    language: Annotated[str | None, typer.Option("--language", "-l", help="Reply in this language.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Talk to Ushauri in the terminal (type 'exit' or press Ctrl-D to leave)."""
    settings = settings_for(data_dir)
    check_language(language, settings.languages)
    kb = KnowledgeBase(settings).load()  # before the first question, not during it
    catalog = Catalog(default_language=kb.settings.default_language)
    detector = LanguageDetector(kb.settings.languages)
    lang = language or kb.settings.default_language
    typer.echo(catalog.get("chat_welcome", lang))
    while True:
        try:
            text = input(f"{catalog.get('chat_prompt', lang)}> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if text.lower() in {"exit", "quit", "q"}:
            break
        if not text:
            continue
        lang = language or detector.detect(text, fallback=lang).language  # short text keeps the last language
        result = kb_reply(kb, catalog, text, lang)
        typer.echo(f"Ushauri> {result['reply']}\n")


ask = handle_errors(ask)
chat = handle_errors(chat)
