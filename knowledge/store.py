"""The knowledge-base store: entries, their texts per language, history and the embedding cache.

SQLite through sqlite-utils, in WAL mode. Texts are never edited in place: an edit deletes an
entry's text rows and inserts new ones (AUTOINCREMENT ids are never reused), so the dense index
and the FTS5 table can follow the database by row id alone. Every change bumps `kb_version`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sqlite_utils

from .entry import Entry
from .errors import NotFoundError

SEARCHABLE_KINDS = ("question", "answer")

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY,
    domain TEXT NOT NULL,
    topic TEXT NOT NULL,
    urgent INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('draft', 'published')),
    version INTEGER NOT NULL DEFAULT 1,
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_topic ON entries(domain, topic);
CREATE TABLE IF NOT EXISTS texts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id TEXT NOT NULL REFERENCES entries(id),
    kind TEXT NOT NULL CHECK (kind IN ('question', 'answer', 'detail')),
    language TEXT NOT NULL,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS texts_entry ON texts(entry_id);
CREATE VIRTUAL TABLE IF NOT EXISTS texts_fts USING fts5(
    text, content='texts', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS texts_ai AFTER INSERT ON texts BEGIN
    INSERT INTO texts_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS texts_ad AFTER DELETE ON texts BEGIN
    INSERT INTO texts_fts(texts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TABLE IF NOT EXISTS entry_history (
    entry_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    action TEXT NOT NULL,
    data TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entry_history_entry ON entry_history(entry_id, version);
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_hash)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class TextRow:
    """One searchable text of an entry: a question or an answer in one language."""

    id: int
    entry_id: str
    kind: str
    language: str
    text: str
    text_hash: str


class Store:
    """The SQLite store of one data folder."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; nested calls join the outer one."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                yield
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # Versions ----------------------------------------------------------------------------
    def kb_version(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'kb_version'").fetchone()
        return int(row[0]) if row else 0

    def _bump(self) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES ('kb_version', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # Entries -----------------------------------------------------------------------------
    def _row_to_entry(self, row: dict) -> Entry:
        questions: dict[str, list[str]] = {}
        answers: dict[str, str] = {}
        details: dict[str, str] = {}
        for text in self.db.query(
            "SELECT kind, language, text FROM texts WHERE entry_id = ? ORDER BY kind, language, position",
            [row["id"]],
        ):
            if text["kind"] == "question":
                questions.setdefault(text["language"], []).append(text["text"])
            elif text["kind"] == "answer":
                answers[text["language"]] = text["text"]
            else:
                details[text["language"]] = text["text"]
        return Entry(
            id=row["id"], domain=row["domain"], topic=row["topic"], questions=questions, answers=answers,
            details=details, urgent=bool(row["urgent"]), source=row["source"], status=row["status"],
            version=row["version"],
        )

    def get(self, entry_id: str) -> Entry:
        row = next(self.db.query("SELECT * FROM entries WHERE id = ?", [entry_id]), None)
        if row is None:
            raise NotFoundError(f"no entry with id '{entry_id}'")
        return self._row_to_entry(row)

    def exists(self, entry_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM entries WHERE id = ?", [entry_id]).fetchone() is not None

    def entries(self, domain: str | None = None, topic: str | None = None, status: str | None = None) -> list[Entry]:
        where, params = self._filters(domain=domain, topic=topic, status=status)
        rows = list(self.db.query(f"SELECT * FROM entries {where} ORDER BY id", params))
        return [self._row_to_entry(row) for row in rows]

    def count(self, status: str | None = None) -> int:
        where, params = self._filters(status=status)
        return self.db.execute(f"SELECT count(*) FROM entries {where}", params).fetchone()[0]

    @staticmethod
    def _filters(prefix: str = "", **values: str | None) -> tuple[str, list[str]]:
        parts = [(f"{prefix}{name} = ?", value) for name, value in values.items() if value is not None]
        if not parts:
            return "", []
        return "WHERE " + " AND ".join(p for p, _ in parts), [v for _, v in parts]

    def _write_texts(self, entry: Entry) -> None:
        self.db.execute("DELETE FROM texts WHERE entry_id = ?", [entry.id])
        rows = []
        for lang, questions in entry.questions.items():
            rows += [("question", lang, i, q) for i, q in enumerate(questions)]
        rows += [("answer", lang, 0, a) for lang, a in entry.answers.items()]
        rows += [("detail", lang, 0, d) for lang, d in entry.details.items()]
        self.db.conn.executemany(
            "INSERT INTO texts(entry_id, kind, language, position, text, text_hash) VALUES (?, ?, ?, ?, ?, ?)",
            [(entry.id, kind, lang, pos, text, text_hash(text)) for kind, lang, pos, text in rows],
        )

    def _history(self, entry: Entry, action: str) -> None:
        self.db.execute(
            "INSERT INTO entry_history(entry_id, version, action, data, changed_at) VALUES (?, ?, ?, ?, ?)",
            [entry.id, entry.version, action, json.dumps(entry.content(), ensure_ascii=False), now()],
        )

    def _last_version(self, entry_id: str) -> int:
        row = self.db.execute("SELECT max(version) FROM entry_history WHERE entry_id = ?", [entry_id]).fetchone()
        return row[0] or 0

    def upsert(self, entry: Entry) -> str:
        """Store an entry; returns 'added', 'updated' (a new version) or 'unchanged'."""
        digest = entry.content_hash()
        with self.transaction():
            row = next(self.db.query("SELECT version, content_hash FROM entries WHERE id = ?", [entry.id]), None)
            if row is not None and row["content_hash"] == digest:
                return "unchanged"
            stamp = now()
            if row is None:
                entry.version = max(entry.version, self._last_version(entry.id) + 1)
                self.db.execute(
                    "INSERT INTO entries(id, domain, topic, urgent, source, status, version, content_hash, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [entry.id, entry.domain, entry.topic, int(entry.urgent), entry.source, entry.status,
                     entry.version, digest, stamp, stamp],
                )
                action = "added"
            else:
                entry.version = max(row["version"] + 1, entry.version)
                self.db.execute(
                    "UPDATE entries SET domain = ?, topic = ?, urgent = ?, source = ?, status = ?, version = ?,"
                    " content_hash = ?, updated_at = ? WHERE id = ?",
                    [entry.domain, entry.topic, int(entry.urgent), entry.source, entry.status, entry.version,
                     digest, stamp, entry.id],
                )
                action = "updated"
            self._write_texts(entry)
            self._history(entry, action)
            self._bump()
            return action

    def upsert_many(self, entries: Iterable[Entry]) -> dict[str, int]:
        """Store many entries in one transaction; returns counts by outcome."""
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        with self.transaction():
            for entry in entries:
                counts[self.upsert(entry)] += 1
        return counts

    def set_status(self, entry_id: str, status: str) -> str:
        entry = self.get(entry_id)
        entry.status = status
        return self.upsert(entry)

    def delete(self, entry_id: str) -> Entry:
        with self.transaction():
            entry = self.get(entry_id)
            self.db.execute("DELETE FROM texts WHERE entry_id = ?", [entry_id])
            self.db.execute("DELETE FROM entries WHERE id = ?", [entry_id])
            self._history(entry, "deleted")
            self._bump()
        return entry

    def history(self, entry_id: str) -> list[dict]:
        rows = list(self.db.query(
            "SELECT version, action, changed_at, data FROM entry_history WHERE entry_id = ? ORDER BY rowid",
            [entry_id],
        ))
        if not rows:
            raise NotFoundError(f"no entry with id '{entry_id}' (and no history of one)")
        return [{**row, "data": json.loads(row["data"])} for row in rows]

    # Texts for search --------------------------------------------------------------------
    def searchable_rows(self) -> list[TextRow]:
        """Questions and answers of published entries: what the indexes hold."""
        placeholders = ", ".join("?" for _ in SEARCHABLE_KINDS)
        return [
            TextRow(*row)
            for row in self.db.execute(
                "SELECT t.id, t.entry_id, t.kind, t.language, t.text, t.text_hash FROM texts t"
                " JOIN entries e ON e.id = t.entry_id"
                f" WHERE e.status = 'published' AND t.kind IN ({placeholders}) ORDER BY t.id",
                list(SEARCHABLE_KINDS),
            ).fetchall()
        ]

    def row_ids(self, domain: str | None = None, topic: str | None = None) -> list[int]:
        """Ids of the searchable rows of published entries in a domain or topic."""
        where, params = self._filters("e.", domain=domain, topic=topic)
        where = (where + " AND" if where else "WHERE") + " e.status = 'published'"
        placeholders = ", ".join("?" for _ in SEARCHABLE_KINDS)
        return [
            row[0]
            for row in self.db.execute(
                f"SELECT t.id FROM texts t JOIN entries e ON e.id = t.entry_id {where}"
                f" AND t.kind IN ({placeholders})",
                params + list(SEARCHABLE_KINDS),
            ).fetchall()
        ]

    # Embedding cache ---------------------------------------------------------------------
    def cached_vectors(self, model_id: str, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            placeholders = ", ".join("?" for _ in chunk)
            for digest, dim, blob in self.db.execute(
                f"SELECT text_hash, dim, vector FROM embeddings WHERE model_id = ? AND text_hash IN ({placeholders})",
                [model_id, *chunk],
            ):
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape[0] == dim:
                    found[digest] = vector
        return found

    def cache_vectors(self, model_id: str, vectors: dict[str, np.ndarray]) -> None:
        with self.transaction():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO embeddings(model_id, text_hash, dim, vector) VALUES (?, ?, ?, ?)",
                [(model_id, h, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()],
            )
