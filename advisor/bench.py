"""`ushauri bench` for the engine: per-step and end-to-end latency, batched throughput, and the
quality figures of both eval commands, for our hybrid engine beside plain dense search and plain
BM25, with ratios. Replies run against a throw-away state database, so the data folder's
conversations and unanswered queue are untouched."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from knowledge.bench import percentiles
from knowledge.evaluate import evaluate, read_queries
from knowledge.settings import PACKAGE_DATA

from .engine import Advisor
from .evaluate import gather, score
from .reply import Message
from .report import evaluate_examples
from .training_data import read_examples

MODES = ("hybrid", "dense", "lexical")
STEPS = ("limit", "commands", "language", "classify", "rules", "social", "retrieve", "decide", "compose",
         "safety", "render", "memory", "total")


def bench_messages(labelled: Path, n: int) -> list[tuple[str, str]]:
    """A fixed mix: evaluation questions and labelled messages (greetings, emergencies, off-topic...)."""
    items = [(q.query, q.language) for q in read_queries(PACKAGE_DATA / "eval")]
    items += [(e.text, e.language or "en") for e in read_examples(labelled)]
    random.Random(0).shuffle(items)
    return items[:n]


def time_replies(advisor: Advisor, messages: list[tuple[str, str]], channel: str) -> dict[str, tuple[float, float]]:
    samples: dict[str, list[float]] = {step: [] for step in STEPS}
    for number, (text, _) in enumerate(messages):
        reply = advisor.reply(Message(text, f"bench:{number}", channel))
        for step in STEPS:
            samples[step].append(reply.timings_ms.get(step, 0.0))
    return {step: percentiles(values) for step, values in samples.items()}


def throughput(advisor: Advisor, messages: list[tuple[str, str]], batch: int) -> float:
    start = time.perf_counter()
    for first in range(0, len(messages), batch):
        chunk = messages[first:first + batch]
        batch_messages = [Message(text, f"batch:{first + i}", "sms") for i, (text, _) in enumerate(chunk)]
        if batch == 1:
            advisor.reply(batch_messages[0])
        else:
            advisor.reply_many(batch_messages)
    return len(messages) / (time.perf_counter() - start)


def run_engine_bench(settings, labelled: Path, n_messages: int, echo: Callable[[str], None]) -> dict:
    messages = bench_messages(labelled / "test.jsonl", n_messages)
    queries = read_queries(PACKAGE_DATA / "eval", settings.languages)
    off_topic = [(e.text, e.language or "en") for e in read_examples(labelled / "validation.jsonl")
                 if e.labels.get("topic") == "out_of_scope"]
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        base = Advisor.open(settings, state_db=Path(folder) / "state.db").load()
        for mode in MODES:
            advisor = base if mode == "hybrid" else Advisor(settings, base.kb, base.classifier,
                                                             state_db=Path(folder) / f"{mode}.db", mode=mode)
            advisor.limiter.per_minute = 0  # the bench sends far more than a person would
            for text, _ in messages[:10]:  # warm up
                advisor.reply(Message(text, "warm", "sms", preview=True))
            timings = time_replies(advisor, messages, "sms")
            retrieval = evaluate(queries, lambda q, lang: [h.entry_id for h in base.kb.search(q, language=lang, k=20, mode=mode)], 5)
            row = {f"{step} p50 ms": timings[step][0] for step in STEPS} | {f"{step} p95 ms": timings[step][1] for step in STEPS}
            row |= {"recall@1": retrieval["overall"]["recall@1"], "recall@5": retrieval["overall"]["recall@5"],
                    "mrr": retrieval["overall"]["mrr"]}
            if mode == "hybrid":  # the decision thresholds are tuned on hybrid scores only
                replies = score(gather(advisor, queries, off_topic), advisor.thresholds, settings.topic_narrowing)
                row |= {"replies answered correctly": replies["overall"]["correct"],
                        "replies answered wrongly": replies["overall"]["wrong"],
                        "replies with a useful menu": replies["overall"]["menu_hit"]}
                row["throughput msg/s (one by one)"] = throughput(advisor, messages, 1)
                row["throughput msg/s (batches of 32)"] = throughput(advisor, messages, 32)
            figures[mode] = row
        classifier = {}
        test = read_examples(labelled / "test.jsonl")
        emergencies = [e.text for e in test if e.labels.get("urgency") == "emergency"]
        if base.classifier is not None:
            report = evaluate_examples(base.classifier, test)
            classifier = {"topic macro-F1": report["topic"]["macro_f1"],
                          "emergency recall, model": report["urgency"]["emergency_recall"]["overall"]}
        classifier["emergency recall, rules"] = sum(bool(base.emergency_rules.match(t)) for t in emergencies) / len(emergencies)
        urgent = [base.reply(Message(t, "bench", "sms", preview=True)) for t in emergencies]
        classifier["emergency recall, engine"] = sum(r.urgent and r.parts[0].text.startswith(
            base.compose.emergency(r.language).text[:20]) for r in urgent) / len(emergencies)
        base.close()
    print_table(figures, classifier, len(messages), echo)
    return {"modes": figures, "classifier": classifier}


def print_table(figures: dict[str, dict[str, float]], classifier: dict[str, float], n: int,
                echo: Callable[[str], None]) -> None:
    echo(f"\nengine, {n} messages through the SMS profile (ms; quality on the starter evaluation questions)")
    echo(f"  {'figure':36}{'hybrid':>9}{'dense':>9}{'BM25':>9}{'/dense':>8}{'/BM25':>8}")
    for key in figures["hybrid"]:
        values = [figures[mode].get(key) for mode in MODES]
        cells = "".join(f"{v:>9.3f}" if v is not None else f"{'-':>9}" for v in values)
        ratios = "".join(f"{values[0] / v:>8.2f}" if v not in (None, 0) and values[0] is not None else f"{'-':>8}"
                         for v in values[1:])
        echo(f"  {key:36}{cells}{ratios}")
    for key, value in classifier.items():
        echo(f"  {key + ' (test split)':36}{value:>9.3f}")
