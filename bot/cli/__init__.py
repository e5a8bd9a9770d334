"""The `ushauri` command line."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from advisor.classifier import META_FILE
from advisor.training import TrainConfig, train
from knowledge.base import KnowledgeBase
from knowledge.embedder import packaged_model_path
from knowledge.evaluate import evaluate, read_queries

from . import kb as kb_commands
from .chat import ask, chat
from .common import DataDir, JsonFlag, handle_errors, settings_for
from .model import LABELLED, STARTER, eval_classifier, export_model, kb_examples, train_command

app = typer.Typer(
    help="Ushauri: advice for farmers and patients from an expert knowledge base.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb_commands.app, name="kb")
eval_app = typer.Typer(help="Measure quality.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.command()(ask)
app.command()(chat)
app.command("train")(train_command)
app.command("export-model")(export_model)
eval_app.command("classifier")(eval_classifier)


@app.command()
@handle_errors
def setup(
    starter: Annotated[Path, typer.Option(help="Starter knowledge base (file or folder).")] = STARTER,
    skip_classifier: Annotated[bool, typer.Option("--skip-classifier", help="Do not train the classifier.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Prepare a data folder: embedding model, starter knowledge base, index, classifier. Skips finished steps."""
    settings = settings_for(data_dir)
    kb = KnowledgeBase(settings)
    started = time.perf_counter()
    model = packaged_model_path(settings.embedding_model, settings.models_dir)
    typer.echo(f"[1/4] embedding model: {model or settings.embedding_model}")
    counts = kb.import_files([starter])
    typer.echo(f"[2/4] starter knowledge base: {counts['added']} added, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged ({kb.store.count('published')} published entries)")
    index = kb.index
    typer.echo(f"[3/4] index: {index.index.ntotal} texts, knowledge base version {index.meta.kb_version}")
    if skip_classifier:
        typer.echo("[4/4] classifier: skipped (--skip-classifier)")
    elif (settings.classifier_dir / META_FILE).exists():
        meta = json.loads((settings.classifier_dir / META_FILE).read_text())
        typer.echo(f"[4/4] classifier: {settings.classifier_dir} (trained {meta['trained_at']})")
    else:
        typer.echo("[4/4] classifier: none yet, training one on the starter messages (a few minutes on a CPU)")
        settings.ensure_dirs()
        train(TrainConfig(data=LABELLED, out=settings.classifier_dir, base_model=settings.classifier_base_model,
                          device=settings.device), settings.models_dir, typer.echo, extra=kb_examples(settings, starter))
    typer.echo(f"ready in {time.perf_counter() - started:.1f} s (data folder: {settings.data_dir})")


@eval_app.command("retrieval")
@handle_errors
def eval_retrieval(
    queries: Annotated[Path, typer.Option("--queries", help="JSONL of {query, language, relevant_ids}, or a folder of them.")],
    k: Annotated[int, typer.Option("--k", min=1, help="Also report recall@k.")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid, dense or lexical.")] = "hybrid",
    show_misses: Annotated[bool, typer.Option("--misses", help="List the queries not found first.")] = False,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Recall@1, recall@5 (and recall@k) and MRR, overall and per language."""
    kb = KnowledgeBase(settings_for(data_dir))
    items = read_queries(queries, kb.settings.languages)
    depth = max(k, 20)
    report = evaluate(items, lambda q, lang: [h.entry_id for h in kb.search(q, language=lang, k=depth, mode=mode)], k)
    misses = report.pop("misses")
    if as_json:
        typer.echo(json.dumps(report if not show_misses else {**report, "misses": misses}, ensure_ascii=False))
        return
    columns = [key for key in report["overall"] if key != "n"]
    typer.echo(f"{'':10}{'n':>6}" + "".join(f"{c:>11}" for c in columns))
    for name, row in [("overall", report["overall"]), *report["per_language"].items()]:
        typer.echo(f"{name:10}{row['n']:>6}" + "".join(f"{row[c]:>11.3f}" for c in columns))
    if show_misses:
        for miss in misses:
            typer.echo(f"  rank {miss['rank']}: [{miss['language']}] {miss['query']} -> want {miss['relevant_ids']}, got {miss['top']}")


@app.command()
@handle_errors
def bench(
    sizes: Annotated[str, typer.Option(help="Synthetic knowledge-base sizes (entries), comma separated.")] = "10000,100000",
    queries: Annotated[int, typer.Option(help="Queries timed per measurement.")] = 200,
    data_dir: DataDir = None,
) -> None:
    """Print speed figures: search latency, re-index time, and index scaling on synthetic data."""
    from knowledge.bench import run_bench

    kb = KnowledgeBase(settings_for(data_dir))
    run_bench(kb, [int(s) for s in sizes.split(",") if s.strip()], queries, typer.echo)


def main() -> None:
    app()
