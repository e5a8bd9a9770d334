"""Conversation memory per user, in SQLite: language, pending menu, pending MORE text, last topic,
entry and question, so that "1", "MORE" and "and for beans?" work on the next message.

The per-user rate limit and the unanswered queue live in the same database file (tables
`conversations`, `message_times`, `unanswered`), each behind its own small class, so a larger
deployment can move them to a shared store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    user_key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS message_times (
    user_key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS message_times_user ON message_times(user_key, at);
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY,
    user_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    language TEXT NOT NULL,
    text TEXT NOT NULL,
    reason TEXT NOT NULL,
    candidates TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    created_at TEXT NOT NULL,
    answered_by TEXT,
    answer TEXT,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS unanswered_status ON unanswered(status, id);
"""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def connect(path: Path) -> sqlite_utils.Database:
    """A WAL connection usable from several threads (callers serialize writes with a lock)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(sqlite3.connect(str(path), check_same_thread=False, isolation_level=None))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.conn.executescript(SCHEMA)
    return db


@dataclass
class Conversation:
    """What Ushauri remembers about one user between messages."""

    user_key: str
    language: str | None = None  # the last reply language
    language_chosen: bool = False  # set by an explicit switch (LANG SW): then it wins over detection
    menu: list[str] = field(default_factory=list)  # entry ids offered as 1, 2, 3...
    more: str | None = None  # text kept back for a MORE reply
    last_topic: str | None = None
    last_entry: str | None = None
    last_text: str | None = None  # the last question, personal data masked
    last_at: float | None = None  # when the last question came (epoch seconds)


class Memory:
    """Conversation state by user key."""

    def __init__(self, db: sqlite_utils.Database, lock: threading.RLock):
        self.db, self.lock = db, lock

    def get(self, user_key: str) -> Conversation:
        row = self.db.execute("SELECT state FROM conversations WHERE user_key = ?", [user_key]).fetchone()
        if row is None:
            return Conversation(user_key)
        known = Conversation.__dataclass_fields__
        return Conversation(**{k: v for k, v in json.loads(row[0]).items() if k in known})

    def save(self, conversation: Conversation) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO conversations(user_key, state, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(user_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                [conversation.user_key, json.dumps(asdict(conversation), ensure_ascii=False), utc_now()],
            )


class RateLimiter:
    """At most `per_minute` messages from one user in any 60 seconds (0 turns the limit off)."""

    def __init__(self, db: sqlite_utils.Database, lock: threading.RLock, per_minute: int):
        self.db, self.lock, self.per_minute = db, lock, per_minute

    def hit(self, user_key: str, now: float | None = None) -> int:
        """Record one message; returns how many the user sent in the last minute, this one included."""
        now = time.time() if now is None else now
        with self.lock:
            self.db.execute("DELETE FROM message_times WHERE user_key = ? AND at < ?", [user_key, now - 60])
            self.db.execute("INSERT INTO message_times(user_key, at) VALUES (?, ?)", [user_key, now])
            return self.db.execute("SELECT count(*) FROM message_times WHERE user_key = ?", [user_key]).fetchone()[0]

    def over(self, count: int) -> bool:
        return self.per_minute > 0 and count > self.per_minute


class UnansweredQueue:
    """Questions the bot could not answer, for operators to answer (personal data masked)."""

    def __init__(self, db: sqlite_utils.Database, lock: threading.RLock):
        self.db, self.lock = db, lock

    def add(self, user_key: str, channel: str, language: str, text: str, reason: str, candidates: list[dict]) -> int:
        with self.lock:
            cursor = self.db.execute(
                "INSERT INTO unanswered(user_key, channel, language, text, reason, candidates, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [user_key, channel, language, text, reason, json.dumps(candidates, ensure_ascii=False), utc_now()],
            )
            return cursor.lastrowid

    KEYS = ("id", "user_key", "channel", "language", "text", "reason", "candidates", "status", "created_at",
            "answered_by", "answer", "answered_at")

    def items(self, status: str | None = "open", limit: int = 100, item_id: int | None = None) -> list[dict]:
        clauses = [(c, v) for c, v in (("status = ?", status), ("id = ?", item_id)) if v is not None]
        where = ("WHERE " + " AND ".join(c for c, _ in clauses)) if clauses else ""
        rows = self.db.execute(f"SELECT {', '.join(self.KEYS)} FROM unanswered {where} ORDER BY id LIMIT ?",
                               [*(v for _, v in clauses), limit]).fetchall()
        return [{**dict(zip(self.KEYS, row)), "candidates": json.loads(row[6])} for row in rows]

    def get(self, item_id: int) -> dict | None:
        found = self.items(None, 1, item_id)
        return found[0] if found else None

    def close(self, item_id: int, operator: str, answer: str) -> None:
        with self.lock:
            self.db.execute("UPDATE unanswered SET status = 'answered', answered_by = ?, answer = ?, answered_at = ?"
                            " WHERE id = ?", [operator, answer, utc_now(), item_id])
