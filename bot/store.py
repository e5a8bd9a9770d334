"""The server's durable state in SQLite: inbox, outbox, stopped numbers, feedback, operator keys.

Every inbound message is written (with its provider id, unique per channel, so a provider's
retry is recognised) before it is processed; every reply is written before it is sent, and the
replies of one message are written in the same transaction that marks it processed, so a crash
leaves either an unprocessed message (processed again on start-up) or queued replies (sent by
the outbox worker), never both and never neither.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from advisor.memory import utc_now

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    user_key TEXT NOT NULL,
    address TEXT NOT NULL,
    text TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'done')),
    received_at TEXT NOT NULL,
    UNIQUE (channel, provider_id)
);
CREATE INDEX IF NOT EXISTS inbox_status ON inbox(status, id);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    inbox_id INTEGER,
    channel TEXT NOT NULL,
    user_key TEXT NOT NULL,
    address TEXT NOT NULL,
    text TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_at);
CREATE TABLE IF NOT EXISTS stopped (
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    stopped_at TEXT NOT NULL,
    PRIMARY KEY (channel, address)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL,
    user_key TEXT NOT NULL,
    value TEXT NOT NULL CHECK (value IN ('up', 'down')),
    created_at TEXT NOT NULL,
    UNIQUE (outbox_id, user_key)
);
CREATE TABLE IF NOT EXISTS start_payloads (
    user_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operators (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass
class Outbound:
    id: int
    inbox_id: int | None
    channel: str
    user_key: str
    address: str
    text: str
    options: dict
    status: str
    attempts: int


@dataclass
class Inbound:
    id: int
    channel: str
    provider_id: str
    user_key: str
    address: str
    text: str
    payload: dict
    status: str


class MessageStore:
    def __init__(self, path: Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    # Inbox ---------------------------------------------------------------------------------
    def receive(self, channel: str, provider_id: str, user_key: str, address: str, text: str,
                payload: dict | None = None) -> tuple[int, bool]:
        """Store an inbound message; returns (id, False) when the provider sent this id before."""
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM inbox WHERE channel = ? AND provider_id = ?", (channel, provider_id)).fetchone()
            if row:
                return row[0], False
            cursor = conn.execute(
                "INSERT INTO inbox(channel, provider_id, user_key, address, text, payload, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (channel, provider_id, user_key, address, text, json.dumps(payload or {}, ensure_ascii=False), utc_now()),
            )
            return cursor.lastrowid, True

    def inbound(self, inbox_id: int) -> Inbound:
        row = self.query("SELECT id, channel, provider_id, user_key, address, text, payload, status FROM inbox"
                         " WHERE id = ?", (inbox_id,))[0]
        return Inbound(*row[:6], json.loads(row[6]), row[7])

    def unprocessed(self) -> list[int]:
        return [row[0] for row in self.query("SELECT id FROM inbox WHERE status = 'new' ORDER BY id")]

    def complete(self, inbox_id: int | None, replies: list[tuple[str, str, str, str, dict]],
                 hold_seconds: float = 0.0) -> list[int]:
        """Queue replies (channel, user_key, address, text, options) and mark the message processed, at once.

        `hold_seconds` keeps the outbox worker away from them for that long: a channel that answers
        in the HTTP response (Twilio TwiML, the web chat) marks them sent itself, and the worker
        sends them only if that never happened."""
        ids = []
        with self.transaction() as conn:
            if inbox_id is not None:
                status = conn.execute("SELECT status FROM inbox WHERE id = ?", (inbox_id,)).fetchone()
                if status and status[0] == "done":
                    return []  # processed already (a resumed message racing its first run)
                conn.execute("UPDATE inbox SET status = 'done' WHERE id = ?", (inbox_id,))
            for channel, user_key, address, text, options in replies:
                cursor = conn.execute(
                    "INSERT INTO outbox(inbox_id, channel, user_key, address, text, options, next_at, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (inbox_id, channel, user_key, address, text, json.dumps(options, ensure_ascii=False),
                     time.time() + hold_seconds, utc_now()),
                )
                ids.append(cursor.lastrowid)
        return ids

    # Outbox --------------------------------------------------------------------------------
    def outbound(self, outbox_id: int) -> Outbound:
        row = self.query("SELECT id, inbox_id, channel, user_key, address, text, options, status, attempts"
                         " FROM outbox WHERE id = ?", (outbox_id,))[0]
        return Outbound(*row[:6], json.loads(row[6]), row[7], row[8])

    def due(self, now: float | None = None, limit: int = 50) -> list[Outbound]:
        now = time.time() if now is None else now
        rows = self.query("SELECT id FROM outbox WHERE status = 'pending' AND next_at <= ? ORDER BY id LIMIT ?",
                          (now, limit))
        return [self.outbound(row[0]) for row in rows]

    def next_due_at(self) -> float | None:
        row = self.query("SELECT min(next_at) FROM outbox WHERE status = 'pending'")
        return row[0][0] if row else None

    def claim(self, outbox_id: int, lease_seconds: float = 120.0) -> bool:
        """Take a due row for sending; False when another sender took it first. A sender that dies
        holding a claim loses it after `lease_seconds`, and the row is sent again."""
        now = time.time()
        with self.lock:
            cursor = self.conn.execute("UPDATE outbox SET next_at = ? WHERE id = ? AND status = 'pending' AND next_at <= ?",
                                       (now + lease_seconds, outbox_id, now))
            return cursor.rowcount == 1

    def mark_sent(self, outbox_id: int) -> None:
        with self.lock:
            self.conn.execute("UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL"
                              " WHERE id = ? AND status = 'pending'", (utc_now(), outbox_id))

    def mark_retry(self, outbox_id: int, error: str, next_at: float, give_up: bool) -> None:
        with self.lock:
            self.conn.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_at = ?, status = ?"
                              " WHERE id = ?", (error[:500], next_at, "failed" if give_up else "pending", outbox_id))

    def backlog(self) -> int:
        """Replies waiting for the worker (web replies wait for the page instead)."""
        return self.query("SELECT count(*) FROM outbox WHERE status = 'pending' AND channel != 'web'")[0][0]

    def replies_to(self, inbox_id: int) -> list[Outbound]:
        return [self.outbound(row[0]) for row in self.query("SELECT id FROM outbox WHERE inbox_id = ? ORDER BY id",
                                                            (inbox_id,))]

    def sent_to(self, channel: str, address: str, after_id: int = 0) -> list[Outbound]:
        rows = self.query("SELECT id FROM outbox WHERE channel = ? AND address = ? AND id > ? ORDER BY id",
                          (channel, address, after_id))
        return [self.outbound(row[0]) for row in rows]

    # Stopped numbers, feedback -----------------------------------------------------------------
    def set_stopped(self, channel: str, address: str, stopped: bool) -> None:
        with self.lock:
            if stopped:
                self.conn.execute("INSERT OR REPLACE INTO stopped(channel, address, stopped_at) VALUES (?, ?, ?)",
                                  (channel, address, utc_now()))
            else:
                self.conn.execute("DELETE FROM stopped WHERE channel = ? AND address = ?", (channel, address))

    def is_stopped(self, channel: str, address: str) -> bool:
        return bool(self.query("SELECT 1 FROM stopped WHERE channel = ? AND address = ?", (channel, address)))

    def add_feedback(self, outbox_id: int, user_key: str, value: str) -> bool:
        with self.lock:
            cursor = self.conn.execute("INSERT OR REPLACE INTO feedback(outbox_id, user_key, value, created_at)"
                                       " VALUES (?, ?, ?, ?)", (outbox_id, user_key, value, utc_now()))
            return cursor.rowcount == 1

    def feedback(self, limit: int = 200) -> list[dict]:
        rows = self.query("SELECT f.id, f.outbox_id, f.user_key, f.value, f.created_at, o.text FROM feedback f"
                          " LEFT JOIN outbox o ON o.id = f.outbox_id ORDER BY f.id DESC LIMIT ?", (limit,))
        keys = ("id", "outbox_id", "user_key", "value", "created_at", "reply")
        return [dict(zip(keys, row)) for row in rows]

    def keep_start_payload(self, user_key: str, payload: str) -> None:
        """A Telegram deep-link payload (t.me/<bot>?start=<payload>), e.g. which poster brought the person."""
        with self.lock:
            self.conn.execute("INSERT INTO start_payloads(user_key, payload, created_at) VALUES (?, ?, ?)",
                              (user_key, payload, utc_now()))

    # Operators -----------------------------------------------------------------------------
    def add_operator(self, name: str) -> str:
        """Create an operator and return their new API key (only its hash is kept)."""
        key = "ush_" + secrets.token_urlsafe(32)
        with self.lock:
            try:
                self.conn.execute("INSERT INTO operators(name, key_hash, created_at) VALUES (?, ?, ?)",
                                  (name, key_hash(key), utc_now()))
            except sqlite3.IntegrityError:
                from knowledge.errors import BadInputError

                raise BadInputError(f"an operator named '{name}' exists already") from None
        return key

    def operator_hashes(self) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in self.query("SELECT name, key_hash FROM operators")]
