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
from advisor.evaluate import OUTCOMES
from advisor.training_data import read_examples
from knowledge.evaluate import evaluate, read_queries
from knowledge.settings import PACKAGE_DATA

from . import kb as kb_commands
from .chat import ask, chat
from .common import DataDir, JsonFlag, handle_errors, settings_for
from .serve import operators_app, serve, telegram_app
from .model import LABELLED, STARTER, eval_classifier, export_model, kb_examples, train_command

EVAL = PACKAGE_DATA / "eval"

app = typer.Typer(
    help="Ushauri: advice for farmers and patients from an expert knowledge base.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb_commands.app, name="kb")
eval_app = typer.Typer(help="Measure quality.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.command()(ask)
app.command()(serve)
app.add_typer(telegram_app, name="telegram")
app.add_typer(operators_app, name="operators")
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


@eval_app.command("replies")
@handle_errors
def eval_replies(
    queries: Annotated[Path, typer.Option("--queries", help="JSONL of {query, language, relevant_ids}, or a folder of them.")] = EVAL,
    negatives: Annotated[Path, typer.Option("--negatives", help="Labelled JSONL whose out_of_scope messages "
                                            "measure off-topic handling.")] = LABELLED / "validation.jsonl",
    sweep_thresholds: Annotated[bool, typer.Option("--sweep", help="Also try other thresholds, per language.")] = False,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """How the reply decisions turn out: correct and wrong answers, useful menus, no match."""
    from advisor.engine import Advisor
    from advisor.evaluate import gather, score, sweep

    settings = settings_for(data_dir)
    advisor = Advisor.open(settings).load()
    items = read_queries(queries, settings.languages)
    off_topic = [(e.text, e.language or settings.default_language) for e in read_examples(negatives)
                 if e.labels.get("topic") == "out_of_scope"]
    cases = gather(advisor, items, off_topic)
    report = score(cases, advisor.thresholds, settings.topic_narrowing)
    report["without_narrowing"] = score(cases, advisor.thresholds, False)["overall"]
    best = sweep(cases, advisor.thresholds, settings.topic_narrowing) if sweep_thresholds else []
    if as_json:
        typer.echo(json.dumps({**report, "sweep": [{**s, **r} for s, r in best]}, ensure_ascii=False))
        return
    typer.echo(f"{'':10}{'n':>6}" + "".join(f"{c:>11}" for c in OUTCOMES))
    for name in [*(k for k in report if k in settings.languages), "overall"]:
        row = report[name]
        typer.echo(f"{name:10}{row['n']:>6}" + "".join(f"{row[c]:>11.3f}" for c in OUTCOMES))
    row = report["without_narrowing"]
    typer.echo(f"{'no topic':10}{row['n']:>6}" + "".join(f"{row[c]:>11.3f}" for c in OUTCOMES))
    if "off_topic" in report:
        o = report["off_topic"]
        typer.echo(f"off-topic messages: {o['n']}, caught by the classifier {o['caught_by_classifier']:.3f},"
                   f" answered anyway {o['answered']:.3f}, given a menu {o['menu']:.3f}")
    typer.echo(f"utility (correct + 0.5 useful menus - 2 wrong - 2 off-topic answered): {report['utility']}")
    for setting, row in best:
        typer.echo(f"  {setting['language']}: answer_min_dense {setting['answer_min_dense']:.2f} menu_min_dense "
                   f"{setting['menu_min_dense']:.2f} menu_ratio "
                   f"{setting['menu_ratio']:.2f} -> correct {row['overall']['correct']:.3f} wrong {row['overall']['wrong']:.3f}"
                   f" menu_hit {row['overall']['menu_hit']:.3f} none {row['overall']['none']:.3f} utility {row['utility']}")


@app.command()
@handle_errors
def bench(
    sizes: Annotated[str, typer.Option(help="Synthetic knowledge-base sizes (entries), comma separated.")] = "10000,100000",
    queries: Annotated[int, typer.Option(help="Queries timed per measurement.")] = 200,
    messages: Annotated[int, typer.Option(help="Messages sent through the engine per retrieval mode.")] = 300,
    data_dir: DataDir = None,
) -> None:
    """Speed and quality: the engine per step and end to end beside plain dense search and BM25,
    then search latency, re-index time and index scaling on synthetic data."""
    from advisor.bench import run_engine_bench
    from knowledge.bench import machine, run_bench

    settings = settings_for(data_dir)
    typer.echo(f"machine: {machine()}")
    run_engine_bench(settings, LABELLED, messages, typer.echo)
    run_bench(KnowledgeBase(settings), [int(s) for s in sizes.split(",") if s.strip()], queries, typer.echo)


def main() -> None:
    app()
