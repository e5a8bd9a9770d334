"""Lexical search over the same question and answer rows, with SQLite FTS5 and BM25.

The FTS5 table is kept in step with the store by triggers; the tokenizer folds case and
diacritics and applies the Porter stemmer. A query becomes an OR of its meaningful words, each
quoted (so no FTS5 syntax can be injected), and BM25 ranks the rows.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from .store import SEARCHABLE_KINDS, Store

WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS_FILE = Path(__file__).parent / "data" / "stopwords.yaml"


@lru_cache(maxsize=4)
def stopwords(path: Path = STOPWORDS_FILE) -> frozenset[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return frozenset(str(word).lower() for words in data.values() for word in words)


def query_terms(text: str) -> list[str]:
    """The words of a query that lexical search looks for (stop words dropped, order kept)."""
    words = [w.lower() for w in WORD.findall(text)]
    stops = stopwords()
    terms = [w for w in words if w not in stops and not w.isdigit()]
    return list(dict.fromkeys(terms or words))


def fts_query(text: str) -> str | None:
    terms = query_terms(text)
    if not terms:
        return None
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def search(store: Store, text: str, k: int, allowed: list[int] | None = None) -> list[tuple[int, float]]:
    """(row id, BM25 score where higher is better) pairs, best first."""
    query = fts_query(text)
    if query is None or k <= 0:
        return []
    kinds = ", ".join("?" for _ in SEARCHABLE_KINDS)
    sql = (
        "SELECT t.id, -bm25(texts_fts) AS score FROM texts_fts"
        " JOIN texts t ON t.id = texts_fts.rowid JOIN entries e ON e.id = t.entry_id"
        f" WHERE texts_fts MATCH ? AND e.status = 'published' AND t.kind IN ({kinds})"
    )
    params: list = [query, *SEARCHABLE_KINDS]
    if allowed is not None:
        if not allowed:
            return []
        sql += " AND t.id IN (SELECT value FROM json_each(?))"
        params.append("[" + ",".join(str(int(i)) for i in allowed) + "]")
    sql += " ORDER BY bm25(texts_fts) LIMIT ?"
    params.append(k)
    return [(int(row_id), float(score)) for row_id, score in store.db.execute(sql, params).fetchall()]
