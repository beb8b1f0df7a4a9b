"""The state that every process and replica must agree on, in one database: Slack event
de-duplication, the digest's claims and snapshots, the ingest ledger and the desk's feedback.

SQLite by default (a file under the data folder), PostgreSQL when ``NEWSBOT_STATE_URL`` names
one, through SQLAlchemy Core: the same statements run on both. Each decision that must be
taken once is a single statement whose effect says who won (an insert that does nothing on a
conflict, an update guarded by its ``WHERE``): no row is read, decided on, then written.

Digests, exactly once per channel and day: a claim is a row taken before posting and completed
after; a failed post releases it so that a retry posts; a claim older than ``stale_after`` (its
holder crashed) can be taken over, so that nothing is blocked forever. Once the message is
posted the claim is never released nor taken over: if it cannot be completed, its ``ts`` is
recorded in it ("posted-pending") so that no run posts that digest again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite

from bot.settings import Settings, SettingsError, database_url

if TYPE_CHECKING:
    from bot.ingest import IngestReport

log = structlog.get_logger("newsbot.state")

# Raise it with each change of the tables: start-up migrates older schemas, refuses newer ones.
SCHEMA_VERSION = 2  # 2: slack_threads
# Slack redelivers an event up to three times within about five minutes.
EVENT_TTL_S = 600.0
# Any constant shared by all replicas: the key of the lock that serialises schema creation.
_SCHEMA_LOCK = 0x6E657773

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version", metadata, sa.Column("version", sa.Integer, nullable=False)
)

# The table and columns of the SQLite state files written before this module used SQLAlchemy,
# so that those files keep working.
digests = sa.Table(
    "digests",
    metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("day", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("claimed_at", sa.Float, nullable=False),
    sa.Column("posted_at", sa.Float),
    sa.Column("ts", sa.Text),
    sa.Column("snapshot", sa.Text),
    sa.CheckConstraint("status IN ('claimed', 'posted')", name="digests_status"),
)

slack_events = sa.Table(
    "slack_events",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)

ingest_ledger = sa.Table(
    "ingest_ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("source", sa.Text, nullable=False),  # the path, URL or feed item as given
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("article_id", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("detail", sa.Text),  # why it was skipped or failed; what an added copy copies
    sa.CheckConstraint("outcome IN ('added', 'skipped', 'failed')", name="ingest_outcome"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("rating", sa.Text, nullable=False),
    sa.Column("kind", sa.Text),
    sa.Column("question", sa.Text),
    sa.Column("answer", sa.Text),
    sa.Column("corpus", sa.Text),
    sa.Column("team_id", sa.Text),
    sa.Column("channel_id", sa.Text),
    sa.Column("user_id", sa.Text),
    sa.Column("message_ts", sa.Text),
    sa.CheckConstraint("rating IN ('up', 'down')", name="feedback_rating"),
)


class ClaimLost(Exception):
    """This run's digest claim is no longer its own: it was taken over after
    ``DIGEST_CLAIM_TIMEOUT_S`` (or released), so another run decides that digest."""


@dataclass(frozen=True)
class PostedDigest:
    day: str
    posted_at: float
    snapshot: dict[str, dict[str, object]]


def open_state(settings: Settings) -> StateStore:
    """The state database of ``settings`` (``NEWSBOT_STATE_URL``, else the SQLite file)."""
    state = StateStore(settings.state_database(), stale_after=settings.digest_claim_timeout_s)
    # Logged here, where the process has configured logging (an unconfigured structlog would
    # print on stdout, into the JSON of `newsbot digest --json`).
    log.info(
        "state_opened",
        database=state.engine.url.render_as_string(hide_password=True),
        schema_version=SCHEMA_VERSION,
    )
    return state


class StateStore:
    """``where``: a SQLAlchemy URL, or the path of a SQLite file. Cheap to build: the engine,
    its connection pool and the schema check happen once per database and process."""

    def __init__(self, where: str | Path, stale_after: float = 600.0) -> None:
        if isinstance(where, Path):
            url = sa.URL.create("sqlite", database=str(where))
        else:
            url = sa.make_url(database_url(where))
        self.engine = _engine(url)
        self.stale_after = stale_after
        self._insert = (
            postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        )

    # --- Slack events ----------------------------------------------------------------------

    def claim_event(self, event_id: str, ttl_s: float = EVENT_TTL_S) -> bool:
        """True the first time ``event_id`` is seen within ``ttl_s``, False for a redelivery,
        whichever replica it reached first."""
        now = time.time()
        with self.engine.begin() as db:
            # Forgetting expired ids here keeps the table at about five minutes of events.
            db.execute(sa.delete(slack_events).where(slack_events.c.expires_at <= now))
            return self._insert_new(db, slack_events, event_id=event_id, expires_at=now + ttl_s)

    # --- digests ---------------------------------------------------------------------------

    def claim(self, channel: str, day: str, owner: str) -> bool:
        """Take the right to post; False when it is posted already or another run holds it.
        A claim whose message is posted (its ``ts`` recorded, see ``mark_sent``) is never
        stale: taking it over would post the digest twice."""
        now = time.time()
        row = {"channel": channel, "day": day, "status": "claimed"}
        with self.engine.begin() as db:
            if self._insert_new(db, digests, **row, owner=owner, claimed_at=now):
                return True
            stale = db.execute(self._take_over(channel, day, owner, now, digests.c.ts.is_(None)))
            return stale.rowcount == 1

    def hold(self, channel: str, day: str, owner: str) -> bool:
        """Renews ``owner``'s claim just before it posts: False when the claim is no longer
        its own (taken over after the timeout), and then it must not post."""
        with self.engine.begin() as db:
            renewed = db.execute(
                sa.update(digests)
                .where(*_claimed(channel, day), digests.c.owner == owner, digests.c.ts.is_(None))
                .values(claimed_at=time.time())
            )
            return renewed.rowcount == 1

    def mark_sent(self, channel: str, day: str, owner: str, ts: str) -> bool:
        """Records that the channel message ``ts`` is posted while the claim could not be
        completed: the claim stays held ("posted-pending") and is never taken over, so no run
        posts that digest again; ``adopt`` lets a later run complete it."""
        with self.engine.begin() as db:
            marked = db.execute(
                sa.update(digests)
                .where(*_claimed(channel, day), digests.c.owner == owner)
                .values(ts=ts)
            )
            return marked.rowcount == 1

    def adopt(self, channel: str, day: str, owner: str) -> str | None:
        """Takes over a posted-pending claim older than ``stale_after`` (its run posted the
        message, then failed to complete): its ``ts``, to complete without posting, or None."""
        pending = digests.c.ts.is_not(None)
        taken = self._take_over(channel, day, owner, time.time(), pending)
        with self.engine.begin() as db:
            return db.execute(taken.returning(digests.c.ts)).scalar()

    def _take_over(
        self, channel: str, day: str, owner: str, now: float, *only: sa.ColumnElement[bool]
    ) -> sa.Update:
        """Gives ``owner`` the claim if it is older than ``stale_after`` (and matches ``only``):
        the one takeover of ``claim`` (unposted claims) and ``adopt`` (posted-pending ones)."""
        return (
            sa.update(digests)
            .where(*_claimed(channel, day), *only, digests.c.claimed_at < now - self.stale_after)
            .values(owner=owner, claimed_at=now)
        )

    def complete(
        self, channel: str, day: str, owner: str, ts: str, snapshot: dict[str, dict[str, object]]
    ) -> None:
        """Marks the digest posted, with its ``ts`` and snapshot. Raises ``ClaimLost`` when the
        claim is no longer ``owner``'s (nothing is changed then)."""
        with self.engine.begin() as db:
            done = db.execute(
                sa.update(digests)
                .where(digests.c.channel == channel, digests.c.day == day, digests.c.owner == owner)
                .values(
                    status="posted", posted_at=time.time(), ts=ts, snapshot=json.dumps(snapshot)
                )
            )
            if done.rowcount != 1:
                raise ClaimLost(
                    f"the digest claim on {channel} {day} is no longer {owner}'s: it was taken "
                    "over after DIGEST_CLAIM_TIMEOUT_S"
                )

    def release(self, channel: str, day: str, owner: str) -> None:
        with self.engine.begin() as db:
            db.execute(sa.delete(digests).where(*_claimed(channel, day), digests.c.owner == owner))

    def last_posted(self, channel: str, before_day: str) -> PostedDigest | None:
        query = (
            sa.select(digests.c.day, digests.c.posted_at, digests.c.snapshot)
            .where(
                digests.c.channel == channel,
                digests.c.day < before_day,
                digests.c.status == "posted",
            )
            .order_by(digests.c.day.desc())
            .limit(1)
        )
        with self.engine.connect() as db:
            row = db.execute(query).first()
        return PostedDigest(row.day, row.posted_at, json.loads(row.snapshot)) if row else None

    def posted(self, channel: str, day: str) -> str | None:
        """The message ts of that digest, if it was posted (also while its claim is
        posted-pending); "" for a quiet day that posted nothing."""
        query = sa.select(digests.c.ts).where(
            digests.c.channel == channel,
            digests.c.day == day,
            sa.or_(digests.c.status == "posted", digests.c.ts.is_not(None)),
        )
        with self.engine.connect() as db:
            return db.execute(query).scalar()

    # --- the ingest ledger and feedback ---------------------------------------------------

    def record_ingest(self, report: IngestReport) -> None:
        """One row per source item: what was added, skipped or failed, and why."""
        now = time.time()
        rows = [
            {
                "source": a.source,
                "outcome": "added",
                "article_id": a.id,
                "url": a.url,
                "detail": f"a copy of {a.duplicate_of}" if a.duplicate_of else None,
            }
            for a in report.added
        ]
        for outcome, items in (("skipped", report.skipped), ("failed", report.failed)):
            rows += [
                {"source": s, "outcome": outcome, "article_id": None, "url": None, "detail": why}
                for s, why in items
            ]
        if rows:
            with self.engine.begin() as db:
                db.execute(sa.insert(ingest_ledger), [{"at": now, **row} for row in rows])

    def record_feedback(self, rating: str, **fields: str | None) -> None:
        """A 👍 (``up``) or 👎 (``down``); ``fields``: the columns of ``feedback``."""
        with self.engine.begin() as db:
            db.execute(sa.insert(feedback).values(at=time.time(), rating=rating, **fields))

    def _insert_new(self, db: sa.Connection, table: sa.Table, **values: Any) -> bool:
        """Inserts the row unless its key exists: True when this call inserted it. (RETURNING
        says so on both databases; an insert's rowcount is not reported by every driver.)"""
        insert = self._insert(table).values(**values).on_conflict_do_nothing()
        return db.execute(insert.returning(*table.primary_key)).first() is not None


def _claimed(channel: str, day: str) -> tuple[sa.ColumnElement[bool], ...]:
    """The digest of ``channel`` and ``day`` while it is claimed, not yet posted."""
    return digests.c.channel == channel, digests.c.day == day, digests.c.status == "claimed"


def _engine(url: sa.URL) -> sa.Engine:
    """One engine (and connection pool) per database and process, its schema made current."""
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
    else:
        # pre_ping: a connection that a database restart or a proxy's idle timeout closed is
        # replaced instead of failing the next request.
        engine = sa.create_engine(url, pool_pre_ping=True)
    try:
        _migrate(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        shown = url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise SettingsError(
            f"cannot open the state database {shown} ({reason}); see NEWSBOT_STATE_URL"
        ) from None
    return engine


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # Waits up to 30 s for another process's write instead of failing at once.
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # SQLAlchemy, not the driver, begins the transactions
        dbapi.execute("PRAGMA journal_mode=WAL")  # commits append to a log: faster, as before

    @sa.event.listens_for(engine, "begin")
    def _begin(db: sa.Connection) -> None:
        # The write lock from the start: a read-then-write transaction can neither deadlock
        # with another nor see a row change under it; writers queue for up to the timeout.
        db.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _migrate(engine: sa.Engine) -> None:
    """Creates the schema, or checks that it is one this code understands."""
    with engine.begin() as db:
        if db.dialect.name == "postgresql":
            # Replicas starting together would race to create the same tables.
            db.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
        metadata.create_all(db)
        version = db.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
        if version is None:
            db.execute(sa.insert(schema_version).values(version=SCHEMA_VERSION))
        elif version > SCHEMA_VERSION:
            raise SettingsError(
                f"NEWSBOT_STATE_URL: the state database has schema version {version}, newer "
                f"than this newsbot's {SCHEMA_VERSION}; upgrade newsbot"
            )
        elif version < SCHEMA_VERSION:
            # The tables a later version added were created above; nothing else changed.
            db.execute(sa.update(schema_version).values(version=SCHEMA_VERSION))


# --- Slack thread context (schema version 2) -----------------------------------------------

# A thread's last actor and topic, so that a follow-up mention naming only one of them ("and
# Spain?") keeps the other whichever replica it reaches. Kept for a day after the last mention.
THREAD_TTL_S = 24 * 3600.0

slack_threads = sa.Table(
    "slack_threads",
    metadata,
    sa.Column("team_id", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("thread_ts", sa.Text, primary_key=True),
    sa.Column("actor", sa.Text),
    sa.Column("topic", sa.Text),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)


class SharedThreads:
    """The thread context of mentions in the state database: ``get`` and ``put`` take the
    key ``(team_id, channel, thread_ts)`` and return or store ``(actor, topic)``."""

    def __init__(self, state: StateStore, ttl_s: float = THREAD_TTL_S) -> None:
        self.state = state
        self.ttl_s = ttl_s

    def get(self, key: tuple[str, str, str]) -> tuple[str | None, str | None] | None:
        team_id, channel, thread_ts = key
        query = sa.select(slack_threads.c.actor, slack_threads.c.topic).where(
            slack_threads.c.team_id == team_id,
            slack_threads.c.channel == channel,
            slack_threads.c.thread_ts == thread_ts,
            slack_threads.c.expires_at > time.time(),
        )
        with self.state.engine.connect() as db:
            row = db.execute(query).first()
        return (row.actor, row.topic) if row else None

    def put(self, key: tuple[str, str, str], actor: str | None, topic: str | None) -> None:
        """One upsert (the last mention's context wins); expired threads are pruned with it."""
        team_id, channel, thread_ts = key
        now = time.time()
        values = {"actor": actor, "topic": topic, "updated_at": now, "expires_at": now + self.ttl_s}
        insert = self.state._insert(slack_threads).values(
            team_id=team_id, channel=channel, thread_ts=thread_ts, **values
        )
        upsert = insert.on_conflict_do_update(
            index_elements=list(slack_threads.primary_key), set_=values
        )
        with self.state.engine.begin() as db:
            db.execute(sa.delete(slack_threads).where(slack_threads.c.expires_at <= now))
            db.execute(upsert)
