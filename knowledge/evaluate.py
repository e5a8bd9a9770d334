"""Retrieval evaluation: recall@k and MRR of the knowledge base for a file of real questions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import ImportFileError
from .formats import jsonl_objects


@dataclass(frozen=True)
class Query:
    query: str
    language: str
    relevant_ids: tuple[str, ...]


def read_queries(path: Path, languages: list[str] | None = None) -> list[Query]:
    """Evaluation queries from JSONL `{query, language, relevant_ids}` (a file, or a folder of
    .jsonl files); a bad line raises ImportFileError."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise ImportFileError(str(path), None, None, "holds no .jsonl files")
        return [q for file in files for q in read_queries(file, languages)]
    queries = []
    for number, data in jsonl_objects(path):
        text, lang, relevant = data.get("query"), data.get("language"), data.get("relevant_ids")
        if not isinstance(text, str) or not text.strip():
            raise ImportFileError(str(path), number, "query", "is missing or empty")
        if not isinstance(lang, str) or (languages and lang not in languages):
            raise ImportFileError(str(path), number, "language", f"unknown language code '{lang}'")
        if not isinstance(relevant, list) or not relevant or not all(isinstance(i, str) for i in relevant):
            raise ImportFileError(str(path), number, "relevant_ids", "must be a non-empty list of entry ids")
        queries.append(Query(text, lang, tuple(relevant)))
    if not queries:
        raise ImportFileError(str(path), None, None, "holds no queries")
    return queries


def _summary(ranks: list[int | None], ks: list[int]) -> dict:
    """ranks: 1-based rank of the first relevant entry, or None when not retrieved."""
    n = len(ranks)
    out: dict = {"n": n}
    for k in ks:
        out[f"recall@{k}"] = round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) if n else 0.0
    out["mrr"] = round(sum(1.0 / r for r in ranks if r is not None) / n, 4) if n else 0.0
    return out


def evaluate(
    queries: list[Query],
    search: Callable[[str, str], list[str]],
    k: int = 5,
) -> dict:
    """Run each query through `search(query, language) -> ranked entry ids`; recall@1, @5 (and @k) and MRR.

    Returns {"overall": {...}, "per_language": {lang: {...}}, "misses": [...]} as design.md describes.
    """
    ks = sorted({1, 5, k})
    ranks: list[int | None] = []
    by_language: dict[str, list[int | None]] = defaultdict(list)
    misses = []
    for q in queries:
        found = search(q.query, q.language)
        rank = next((i for i, entry_id in enumerate(found, 1) if entry_id in q.relevant_ids), None)
        ranks.append(rank)
        by_language[q.language].append(rank)
        if rank is None or rank > 1:
            misses.append({"query": q.query, "language": q.language, "relevant_ids": list(q.relevant_ids),
                           "rank": rank, "top": found[:3]})
    return {
        "overall": _summary(ranks, ks),
        "per_language": {lang: _summary(r, ks) for lang, r in sorted(by_language.items())},
        "misses": misses,
    }
