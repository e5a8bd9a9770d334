"""`ushauri kb ...`: operators' knowledge-base work."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from knowledge.base import KnowledgeBase
from knowledge.entry import EntryProblem, entry_from_dict
from knowledge.errors import BadInputError, NotFoundError
from knowledge.formats import FORMATS, SUFFIXES, write_entries

from .common import DataDir, JsonFlag, handle_errors, settings_for

app = typer.Typer(help="Import, export, edit and search the knowledge base.", no_args_is_help=True)
console = Console()


def open_kb(data_dir: Path | None) -> KnowledgeBase:
    return KnowledgeBase(settings_for(data_dir))


@app.command("import")
@handle_errors
def import_(
    files: Annotated[list[Path], typer.Argument(help="JSONL, CSV or YAML files, or folders of them.")],
    data_dir: DataDir = None,
) -> None:
    """Import entries (nested or flat form). All files are checked first; a bad one imports nothing."""
    kb = open_kb(data_dir)
    counts = kb.import_files(files)
    typer.echo(f"imported: {counts['added']} added, {counts['updated']} updated, {counts['unchanged']} unchanged")


@app.command()
@handle_errors
def export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: standard output).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="jsonl, csv or yaml (default: from the file name, else jsonl).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Export every entry in the nested import form, so an export imports back unchanged."""
    if fmt is None:
        fmt = SUFFIXES.get(output.suffix.lower(), "jsonl") if output else "jsonl"
    if fmt not in FORMATS:
        raise BadInputError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    entries = open_kb(data_dir).store.entries()
    if output is None:
        write_entries(entries, fmt, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as out:
        write_entries(entries, fmt, out)
    typer.echo(f"exported {len(entries)} entries to {output}", err=True)


@app.command()
@handle_errors
def add(
    entry_id: Annotated[str, typer.Option("--id", help="Stable id, e.g. maize-fall-armyworm.")],
    language: Annotated[str, typer.Option("--language", "-l", help="Language of the question and answer.")],
    answer: Annotated[str, typer.Option("--answer", "-a", help="The answer in that language.")],
    question: Annotated[list[str], typer.Option("--question", "-q", help="A question (repeat for more).")],
    domain: Annotated[str | None, typer.Option(help="agriculture or health (needed for a new entry).")] = None,
    topic: Annotated[str | None, typer.Option(help="A topic id of the taxonomy (needed for a new entry).")] = None,
    source: Annotated[str | None, typer.Option(help="The public guidance the answer follows.")] = None,
    urgent: Annotated[bool | None, typer.Option("--urgent/--not-urgent", help="About a danger sign?")] = None,
    draft: Annotated[bool, typer.Option("--draft", help="Keep it unpublished (not searchable).")] = False,
    data_dir: DataDir = None,
) -> None:
    """Add an entry, or add a language to (or change) an existing one: a change makes a new version."""
    kb = open_kb(data_dir)
    data = kb.store.get(entry_id).content() if kb.store.exists(entry_id) else {"id": entry_id}
    data.setdefault("questions", {})[language] = question
    data.setdefault("answers", {})[language] = answer
    for name, value in (("domain", domain), ("topic", topic), ("source", source), ("urgent", urgent)):
        if value is not None:
            data[name] = value
    if draft:
        data["status"] = "draft"
    try:
        entry = entry_from_dict(data, kb.settings.languages, kb.taxonomy)
    except EntryProblem as exc:
        option = exc.field.split(".")[0]
        option = "language" if option in ("questions", "answers") and "unknown language" in str(exc) else option
        raise BadInputError(f"--{option}: {exc}") from None
    action = kb.save(entry)
    typer.echo(f"{entry.id}: {action} (version {kb.store.get(entry.id).version})")


@app.command("list")
@handle_errors
def list_(
    domain: Annotated[str | None, typer.Option(help="Only this domain.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    status: Annotated[str | None, typer.Option(help="draft or published.")] = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """List entries."""
    entries = open_kb(data_dir).store.entries(domain=domain, topic=topic, status=status)
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False))
        return
    table = Table("id", "domain", "topic", "languages", "urgent", "status", "v")
    for e in entries:
        table.add_row(e.id, e.domain, e.topic, ",".join(e.languages), "yes" if e.urgent else "", e.status, str(e.version))
    console.print(table)
    console.print(f"{len(entries)} entries")


@app.command()
@handle_errors
def show(entry_id: str, as_json: JsonFlag = False, data_dir: DataDir = None) -> None:
    """Show one entry in full."""
    entry = open_kb(data_dir).store.get(entry_id)
    if as_json:
        typer.echo(json.dumps(entry.to_dict(), ensure_ascii=False))
        return
    console.print(f"[bold]{entry.id}[/bold]  {entry.domain}/{entry.topic}  version {entry.version}  {entry.status}"
                  + ("  [red]urgent[/red]" if entry.urgent else ""))
    console.print(f"source: {entry.source or '-'}")
    for lang in entry.languages:
        console.print(f"\n[bold]{lang}[/bold]")
        for q in entry.questions.get(lang, []):
            console.print(f"  Q: {q}", markup=False)
        if lang in entry.answers:
            console.print(f"  A: {entry.answers[lang]}", markup=False)
        if lang in entry.details:
            console.print(f"  more: {entry.details[lang]}", markup=False)


@app.command()
@handle_errors
def history(entry_id: str, as_json: JsonFlag = False, data_dir: DataDir = None) -> None:
    """Every version of an entry, oldest first, with the text it had."""
    rows = open_kb(data_dir).store.history(entry_id)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        data = row["data"]
        console.print(f"[bold]version {row['version']}[/bold] {row['action']} at {row['changed_at']} ({data['status']})")
        for lang, answer in data["answers"].items():
            console.print(f"  {lang}: {answer}", markup=False)


@app.command()
@handle_errors
def search(
    query: str,
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="How many entries.")] = 5,
    language: Annotated[str | None, typer.Option("--language", "-l", help="The query's language, if known.")] = None,
    domain: Annotated[str | None, typer.Option(help="Only this domain.")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or lexical.")] = "hybrid",
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Search the knowledge base (hybrid: dense + lexical, fused by reciprocal rank)."""
    if mode not in ("hybrid", "dense", "lexical"):
        raise BadInputError(f"unknown mode '{mode}'; use hybrid, dense or lexical")
    kb = open_kb(data_dir)
    hits = kb.search(query, language=language, domain=domain, topic=topic, k=k, mode=mode)
    if as_json:
        typer.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
        return
    table = Table("#", "entry", "score", "dense", "lexical", "lang", "matched text")
    for rank, h in enumerate(hits, 1):
        table.add_row(
            str(rank), h.entry_id, f"{h.score:.4f}", "-" if h.dense is None else f"{h.dense:.3f}",
            "-" if h.lexical is None else f"{h.lexical:.2f}", h.language, h.text[:70],
        )
    console.print(table)


@app.command()
@handle_errors
def reindex(
    full: Annotated[bool, typer.Option("--full", help="Rebuild from scratch instead of syncing.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Bring the dense index up to date (only changed texts are embedded)."""
    counts = open_kb(data_dir).reindex(full=full)
    typer.echo(f"index: {counts['rows']} rows ({counts['added']} added, {counts['removed']} removed)")


@app.command()
@handle_errors
def publish(entry_id: str, data_dir: DataDir = None) -> None:
    """Publish a draft entry (makes it searchable)."""
    kb = open_kb(data_dir)
    action = kb.set_status(entry_id, "published")
    typer.echo(f"{entry_id}: {'published' if action != 'unchanged' else 'already published'}")


@app.command()
@handle_errors
def delete(
    entry_id: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Delete an entry (its history stays)."""
    kb = open_kb(data_dir)
    if not kb.store.exists(entry_id):
        raise NotFoundError(f"no entry with id '{entry_id}'")
    if not yes and not typer.confirm(f"Delete {entry_id}?"):
        raise typer.Exit(1)
    kb.delete(entry_id)
    typer.echo(f"{entry_id}: deleted")
