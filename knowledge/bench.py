"""Speed figures for the knowledge base: search latency, re-index time, scaling on synthetic data.

Synthetic knowledge bases use random unit vectors for the dense index (embedding 600k texts on
a CPU would take hours and says nothing about FAISS) and random sentences drawn from the starter
knowledge base's own vocabulary for FTS5, so both indexes hold realistic row counts.
"""

from __future__ import annotations

import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

from .base import KnowledgeBase
from .evaluate import read_queries
from .index import DenseIndex
from .lexical import WORD, fts_query
from .settings import PACKAGE_DATA

ROWS_PER_ENTRY = 6  # e.g. 3 questions and 1 answer in one language, 1 question and 1 answer in another


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return f"{cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, {platform.system()} {platform.release()}"


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def sample_queries(kb: KnowledgeBase, n: int) -> list[tuple[str, str]]:
    items = [(q.query, q.language) for q in read_queries(PACKAGE_DATA / "eval")]
    if not items:
        items = [(row.text, row.language) for row in kb.store.searchable_rows() if row.kind == "question"]
    random.Random(0).shuffle(items)
    return (items * (n // max(len(items), 1) + 1))[:n]


def run_bench(kb: KnowledgeBase, sizes: list[int], n_queries: int, echo: Callable[[str], None]) -> None:
    echo(f"\nknowledge base: {kb.store.count('published')} published entries, model {kb.settings.embedding_model}")
    index = kb.index
    echo(f"dense index: {index.index.ntotal} rows")
    queries = sample_queries(kb, n_queries)
    for q, lang in queries[:10]:  # warm up
        kb.search(q, language=lang)

    echo("\nsearch latency on the knowledge base (ms)          p50      p95")
    it = iter(queries * 3)
    embed = timed(lambda: kb.embedder.encode([next(it)[0]]), len(queries))
    echo(f"  query embedding                             {embed[0]:8.2f} {embed[1]:8.2f}")
    for mode in ("dense", "lexical", "hybrid"):
        it = iter(queries)
        p50, p95 = timed(lambda: kb.search(*next(it), mode=mode), len(queries))
        echo(f"  {mode:8} search{' (with query embedding)' if mode != 'lexical' else '':24}   {p50:8.2f} {p95:8.2f}")

    rows = kb.store.searchable_rows()
    start = time.perf_counter()
    kb.embedder.encode([row.text for row in rows])
    cold = time.perf_counter() - start
    start = time.perf_counter()
    kb.reindex(full=True)
    warm = time.perf_counter() - start
    echo(f"\nfull re-index of {len(rows)} texts: {cold:.2f} s embedding everything, "
         f"{warm:.2f} s from the embedding cache")

    vocabulary = sorted({w.lower() for row in rows for w in WORD.findall(row.text)}) or ["maize", "fever"]
    echo(f"\nsynthetic knowledge bases ({ROWS_PER_ENTRY} rows an entry, dim {kb.embedder.dim})")
    echo(f"  {'entries':>8} {'rows':>8} {'dense build s':>14} {'dense p50 ms':>13} {'dense p95 ms':>13}"
         f" {'fts build s':>12} {'fts p50 ms':>11} {'fts p95 ms':>11}")
    for size in sizes:
        echo("  " + synthetic_row(size, kb.embedder.dim, vocabulary, queries, min(n_queries, 100)))


def synthetic_row(entries: int, dim: int, vocabulary: list[str], queries: list[tuple[str, str]], n: int) -> str:
    rows = entries * ROWS_PER_ENTRY
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    index = DenseIndex.empty(Path(tempfile.gettempdir()), "synthetic", dim).index
    for chunk_start in range(0, rows, 100_000):
        count = min(100_000, rows - chunk_start)
        vectors = rng.standard_normal((count, dim), dtype=np.float32)
        faiss.normalize_L2(vectors)
        index.add_with_ids(vectors, np.arange(chunk_start, chunk_start + count, dtype=np.int64))
    dense_build = time.perf_counter() - start
    probes = rng.standard_normal((n, dim), dtype=np.float32)
    faiss.normalize_L2(probes)
    it = iter(probes)
    dense = timed(lambda: index.search(next(it).reshape(1, -1), 50), n)
    del index

    words = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(str(Path(folder) / "fts.db"))
        conn.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
        start = time.perf_counter()
        batch = 50_000
        for chunk_start in range(0, rows, batch):
            conn.executemany(
                "INSERT INTO f(text) VALUES (?)",
                ((" ".join(words.choices(vocabulary, k=12)),) for _ in range(min(batch, rows - chunk_start))),
            )
        conn.commit()
        fts_build = time.perf_counter() - start
        texts = iter([fts_query(q) or "maize" for q, _ in queries] * 2)
        fts = timed(
            lambda: conn.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 50", [next(texts)]).fetchall(),
            n,
        )
        conn.close()
    return (f"{entries:>8} {rows:>8} {dense_build:>14.2f} {dense[0]:>13.2f} {dense[1]:>13.2f}"
            f" {fts_build:>12.2f} {fts[0]:>11.2f} {fts[1]:>11.2f}")
