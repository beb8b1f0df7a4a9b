"""Durable state the digest needs: who posted which channel's digest of which day, and the
board snapshot it was built against. SQLite by default (a file under the data folder).

Exactly once per channel and day: a claim is a row taken in one transaction before posting and
completed after; a failed post releases it so a retry posts; a claim older than ``stale_after``
(its holder crashed) can be taken over, so nothing is blocked forever.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    channel TEXT NOT NULL,
    day TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'posted')),
    owner TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    posted_at REAL,
    ts TEXT,
    snapshot TEXT,
    PRIMARY KEY (channel, day)
)
"""


@dataclass(frozen=True)
class PostedDigest:
    day: str
    posted_at: float
    snapshot: dict[str, dict[str, object]]


class StateStore:
    def __init__(self, path: Path, stale_after: float = 600.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.stale_after = stale_after
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # One connection per call: safe across threads and processes; SQLite serialises writers.
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    def claim(self, channel: str, day: str, owner: str) -> bool:
        """Take the right to post; False when it is posted already or another run holds it."""
        now = time.time()
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT status, claimed_at FROM digests WHERE channel = ? AND day = ?",
                (channel, day),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO digests (channel, day, status, owner, claimed_at) "
                    "VALUES (?, ?, 'claimed', ?, ?)",
                    (channel, day, owner, now),
                )
            elif row[0] == "claimed" and row[1] < now - self.stale_after:
                db.execute(
                    "UPDATE digests SET owner = ?, claimed_at = ? WHERE channel = ? AND day = ?",
                    (owner, now, channel, day),
                )
            else:
                db.execute("ROLLBACK")
                return False
            db.execute("COMMIT")
            return True
        finally:
            db.close()

    def complete(
        self, channel: str, day: str, owner: str, ts: str, snapshot: dict[str, dict[str, object]]
    ) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE digests SET status = 'posted', posted_at = ?, ts = ?, snapshot = ? "
                "WHERE channel = ? AND day = ? AND owner = ?",
                (time.time(), ts, json.dumps(snapshot), channel, day, owner),
            )

    def release(self, channel: str, day: str, owner: str) -> None:
        with self._db() as db:
            db.execute(
                "DELETE FROM digests WHERE channel = ? AND day = ? AND owner = ? "
                "AND status = 'claimed'",
                (channel, day, owner),
            )

    def last_posted(self, channel: str, before_day: str) -> PostedDigest | None:
        with self._db() as db:
            row = db.execute(
                "SELECT day, posted_at, snapshot FROM digests WHERE channel = ? AND day < ? "
                "AND status = 'posted' ORDER BY day DESC LIMIT 1",
                (channel, before_day),
            ).fetchone()
        return PostedDigest(row[0], row[1], json.loads(row[2])) if row else None

    def posted(self, channel: str, day: str) -> str | None:
        """The message ts of that digest, if it was posted."""
        with self._db() as db:
            row = db.execute(
                "SELECT ts FROM digests WHERE channel = ? AND day = ? AND status = 'posted'",
                (channel, day),
            ).fetchone()
        return row[0] if row else None
