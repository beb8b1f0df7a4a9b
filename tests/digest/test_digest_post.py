"""``newsbot digest``: previews, and posting exactly once per channel and day against the Slack
stand-in, through retries, races and a crashed run."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from slack_sdk.errors import SlackApiError
from structlog.testing import capture_logs

from bot import Newsbot
from bot.app import create_web_client
from bot.digest_post import (
    DigestIncomplete,
    DigestRun,
    DigestUnrecorded,
    open_state,
    post_digest,
)
from bot.settings import Settings, load_settings
from bot.slack_blocks import MAX_BLOCKS, MAX_HEADER_CHARS, MAX_MESSAGE_CHARS, MAX_SECTION_CHARS
from bot.state import ClaimLost, StateStore
from tests.digest.conftest import ARRIVED, DAY, Desk, arrive
from tests.slack.conftest import BOT_TOKEN, texts
from tests.slack.stand_in import Call, SlackStandIn
from tests.texts import FLIP


def headers_in(stand_in: SlackStandIn, channel: str) -> list[Call]:
    """The digests' channel messages that Slack accepted in ``channel``."""
    return stand_in.matching(
        lambda c: (
            c.method == "chat.postMessage"
            and c.status == 200
            and c.body.get("channel") == channel
            and "thread_ts" not in c.body
        )
    )


def posts_in(stand_in: SlackStandIn, channel: str) -> list[Call]:
    return stand_in.matching(
        lambda c: c.method == "chat.postMessage" and c.body.get("channel") == channel
    )


def settings_for(desk: Desk, **overrides: Any) -> Settings:
    env = {
        "NEWSBOT_CORPUS_DIR": desk.env["NEWSBOT_CORPUS_DIR"],
        "NEWSBOT_DATA_DIR": desk.env["NEWSBOT_DATA_DIR"],
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": desk.env["SLACK_API_URL"],
        "DIGEST_TZ": "UTC",
        "DIGEST_TIME": "07:00",
        "DIGEST_PACE_S": "1",
    }
    return load_settings(**{**env, **overrides})


def post(desk: Desk, channel: str, **overrides: Any) -> DigestRun:
    settings = settings_for(desk, **overrides)
    bot = Newsbot.open(desk.corpus, desk.data)
    return post_digest(
        settings, bot, create_web_client(settings), open_state(settings), channel, DAY
    )


@pytest.fixture
def flipped(desk: Desk, tmp_path: Path) -> Desk:
    """Denmark, undecided on troops in the seed articles, rules them out in a new one."""
    (tmp_path / "dk.txt").write_text("Denmark rules out troops\n" + FLIP)
    arrive(desk.corpus, tmp_path / "dk.txt")
    return desk


def test_a_flip_is_a_change_and_an_unchanged_corpus_shows_none(
    flipped: Desk, stand_in: SlackStandIn
) -> None:
    desk, channel = flipped, "C0FLIP0001"
    out = desk.run("digest", "--json", "--date", f"{DAY}", "--channel", channel)
    assert out.returncode == 0, out.stderr
    digest = json.loads(out.stdout)
    assert [a["title"] for a in digest["articles"]] == ["Denmark rules out troops"]
    [change] = digest["changes"]
    assert (change["actor"]["name"], change["topic"]) == ("Denmark", "troops")
    assert (change["before"], change["after"], change["new_sources"]) == ("undecided", "oppose", 1)
    assert "ruled out sending troops" in change["evidence"]["quote"]

    shown = desk.run("digest", "--dry-run", "--date", f"{DAY}", "--channel", channel)
    assert (
        "Denmark · Troops for Ukraine: ⚪ undecided → 🔴 oppose, 1 new independent source"
        in shown.stdout
    )
    assert not posts_in(stand_in, channel)  # a preview never talks to Slack

    posted = desk.run("digest", "--post", "--date", f"{DAY}", "--channel", channel)
    assert posted.returncode == 0, posted.stderr
    [header] = headers_in(stand_in, channel)
    body = texts(header.blocks)
    assert (
        "*Denmark* · Troops for Ukraine: ⚪ undecided → 🔴 oppose, 1 new independent source" in body
    )
    assert "Denmark rules out troops" in body
    assert header.body["metadata"] == {
        "event_type": "newsbot_digest",
        "event_payload": {"date": f"{DAY}"},
    }
    assert header.body["text"] == ("newsbot digest, 11 Mar 2025: 1 new article, 1 stance change")

    # The next day compares with the snapshot posted with this one: nothing moved.
    later = desk.run(
        "digest", "--json", "--date", f"{DAY + dt.timedelta(days=1)}", "--channel", channel
    )
    nothing = json.loads(later.stdout)
    assert nothing["articles"] == [] and nothing["changes"] == [] and nothing["quiet"]
    assert nothing["since"].startswith(f"{DAY}T07:00")  # since the last posted digest


def test_two_concurrent_runs_post_once(flipped: Desk, stand_in: SlackStandIn) -> None:
    channel = "C0RACE0001"
    runs = [
        flipped.start("digest", "--post", "--date", f"{DAY}", "--channel", channel)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len(headers_in(stand_in, channel)) == 1
    lines = sorted(out.strip() for out, _ in outputs)
    assert sum(line.startswith("posted the digest of 2025-03-11") for line in lines) == 1
    assert (
        sum(
            line.startswith(("already done: the digest of 2025-03-11", "not posted: another run"))
            for line in lines
        )
        == 1
    )


def test_a_500_then_success_posts_once(flipped: Desk, stand_in: SlackStandIn) -> None:
    channel = "C0RETRY001"
    stand_in.fail_next(
        "chat.postMessage",
        500,
        body={"ok": False, "error": "internal_error"},
        when=lambda body: body.get("channel") == channel,
    )
    run = post(flipped, channel)
    assert run.outcome == "posted"
    statuses = [c.status for c in posts_in(stand_in, channel)]
    assert statuses == [500, 200]  # the client's retry, and one digest
    assert StateStore(flipped.data / "state.sqlite3").posted(channel, f"{DAY}") == run.ts


def test_a_failed_post_releases_the_claim_and_the_retry_posts(
    flipped: Desk, stand_in: SlackStandIn
) -> None:
    channel = "C0DOWN0001"
    for _ in range(3):  # the first try and both of the client's retries
        stand_in.fail_next(
            "chat.postMessage",
            503,
            body={"ok": False, "error": "service_unavailable"},
            when=lambda body: body.get("channel") == channel,
        )
    failed = flipped.run("digest", "--post", "--date", f"{DAY}", "--channel", channel)
    assert failed.returncode == 1
    assert "not posted: Slack answered 503 service_unavailable; the claim is released" in (
        failed.stderr
    )
    assert headers_in(stand_in, channel) == []
    retried = flipped.run("digest", "--post", "--date", f"{DAY}", "--channel", channel)
    assert retried.returncode == 0, retried.stderr
    assert len(headers_in(stand_in, channel)) == 1
    again = flipped.run("digest", "--post", "--date", f"{DAY}", "--channel", channel)
    assert again.stdout.startswith("already done: the digest of 2025-03-11 in C0DOWN0001 (ts ")
    assert len(headers_in(stand_in, channel)) == 1


def test_a_run_killed_after_its_claim_blocks_only_until_the_claim_times_out(
    flipped: Desk, stand_in: SlackStandIn
) -> None:
    channel = "C0CRASH001"
    # Slack says "wait 30 s": the run sleeps in its retry handler, holding its claim, and dies.
    stand_in.fail_next(
        "chat.postMessage",
        429,
        headers={"Retry-After": "30"},
        when=lambda body: body.get("channel") == channel,
    )
    run = flipped.start("digest", "--post", "--date", f"{DAY}", "--channel", channel)
    stand_in.wait_for(lambda c: c.body.get("channel") == channel and c.status == 429)
    run.send_signal(signal.SIGKILL)
    run.wait(30)
    claimed_at = time.time()

    timeout = 4.0
    blocked = post(flipped, channel, DIGEST_CLAIM_TIMEOUT_S=str(timeout))
    assert blocked.outcome == "claimed"
    time.sleep(max(0.0, claimed_at + timeout + 0.2 - time.time()))
    out = flipped.run(
        "digest",
        "--post",
        "--date",
        f"{DAY}",
        "--channel",
        channel,
        DIGEST_CLAIM_TIMEOUT_S=str(timeout),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("posted the digest of 2025-03-11")
    assert len(headers_in(stand_in, channel)) == 1


def many_articles(folder: Path, n: int) -> Path:
    """``n`` distinct articles with long headlines and links, as one JSONL export."""
    rng = random.Random(7)
    words = (
        "minister summit brussels warsaw ministry budget defence spending ceasefire talks army "
        "coalition europe allies pledge plan envoy treaty border sanctions energy grain ports"
    ).split()
    rows = []
    for i in range(n):
        title = f"Report {i}: " + " ".join(rng.choices(words, k=30))
        rows.append(
            {
                "title": title[:190],
                "outlet": f"Outlet {i % 7}",
                "url": f"https://news.example/{i}/" + "-".join(rng.choices(words, k=40)),
                "published": "2025-03-10",
                "body": " ".join(rng.choices(words, k=80)) + ".",
            }
        )
    path = folder / "many.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_a_long_digest_is_threaded_paced_and_within_limits(
    desk: Desk, tmp_path: Path, stand_in: SlackStandIn
) -> None:
    channel = "C0LONG0001"
    arrive(desk.corpus, many_articles(tmp_path, 70))
    pace = 1.0
    run = post(desk, channel, DIGEST_PACE_S=str(pace))
    calls = posts_in(stand_in, channel)
    assert run.outcome == "posted" and run.messages == len(calls) >= 3
    header, *replies = calls
    assert header.body["metadata"]["event_payload"] == {"date": f"{DAY}"}
    assert all(r.body["thread_ts"] == run.ts and "metadata" not in r.body for r in replies)
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    # The stand-in stamps a call when its thread gets to it; on a loaded machine one stamp can
    # lag and shorten the gap after it, never the whole span (unpaced calls are ~0 apart).
    assert calls[-1].at - calls[0].at >= pace * len(gaps) * 0.7, gaps
    seen = []
    for call in calls:
        assert call.body["text"]  # the notification text of every message
        assert len(call.blocks) <= MAX_BLOCKS
        chars = 0
        for block in call.blocks:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= MAX_HEADER_CHARS
            for part in [block.get("text"), *block.get("elements", [])]:
                if isinstance(part, dict):
                    assert len(part["text"]) <= MAX_SECTION_CHARS
                    chars += len(part["text"])
        assert chars <= MAX_MESSAGE_CHARS
        seen += [line for line in texts(call.blocks).splitlines() if line.startswith("• <")]
    assert len(seen) == 70 == len(set(seen))  # every article once, none cut
    assert "*New articles* (continued)" in texts(replies[0].blocks)


def test_a_quiet_day_is_one_line_or_nothing(desk: Desk, stand_in: SlackStandIn) -> None:
    run = post(desk, "C0QUIET001")
    [call] = posts_in(stand_in, "C0QUIET001")
    assert run.outcome == "posted" and run.messages == 1
    assert call.body["text"] == (
        "☕ Quiet day: no new articles and no stance changes since 10 Mar 07:00 (UTC)."
    )
    assert len(call.blocks) == 1
    assert call.body["metadata"]["event_payload"] == {"date": f"{DAY}"}

    skipped = post(desk, "C0QUIET002", DIGEST_QUIET="skip")
    assert skipped.outcome == "quiet"
    again = post(desk, "C0QUIET002", DIGEST_QUIET="skip")
    assert again.outcome == "already_posted"  # the day is decided, once
    assert posts_in(stand_in, "C0QUIET002") == []


def test_posting_needs_a_channel_a_token_and_a_due_date(desk: Desk) -> None:
    out = desk.run("digest", "--post", "--date", f"{DAY}")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "no channel to post to: pass --channel C0123456789 or set DIGEST_CHANNEL"
    )
    token = desk.env.pop("SLACK_BOT_TOKEN")
    out = desk.run("digest", "--post", "--channel", "C0DESK0001")
    assert out.stderr.strip() == (
        "SLACK_BOT_TOKEN not set: newsbot digest --post needs the bot token"
    )
    desk.env["SLACK_BOT_TOKEN"] = token
    future = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    out = desk.run("digest", "--post", "--channel", "C0DESK0001", "--date", f"{future}")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"the digest of {future} is not due yet (DIGEST_TIME 07:00, UTC); --dry-run previews it"
    )
    out = desk.run("digest", "--channel", "#desk")
    assert out.returncode == 2 and "argument --channel: must be a channel ID" in out.stderr
    out = desk.run("digest", "--post", "--json")
    assert out.returncode == 2 and "cannot be combined with --post" in out.stderr


def test_the_in_process_scheduler_posts_once_however_often_it_fires(
    desk: Desk, tmp_path: Path, stand_in: SlackStandIn
) -> None:
    from apscheduler.events import EVENT_JOB_EXECUTED

    from bot.digest import due_day
    from bot.serve import background_jobs

    channel = "C0SCHED001"
    settings = settings_for(
        desk,
        DIGEST_CHANNEL=channel,
        DIGEST_SCHEDULER="inprocess",
        DIGEST_TZ="Europe/Kyiv",
        NEWSBOT_REFRESH_S="0.2",
    )
    due = due_day(dt.datetime.now(dt.UTC), settings.digest_time, settings.tz)
    (tmp_path / "dk.txt").write_text("Denmark rules out troops\n" + FLIP)
    noon_before = dt.datetime.combine(due - dt.timedelta(days=1), dt.time(12), settings.tz)
    arrive(desk.corpus, tmp_path / "dk.txt", noon_before)
    bot = Newsbot.open(desk.corpus, desk.data)
    ran = threading.Semaphore(0)
    scheduler = background_jobs(settings, bot, create_web_client(settings), refresh=True)
    scheduler.add_listener(lambda e: e.job_id == "digest" and ran.release(), EVENT_JOB_EXECUTED)
    try:
        job = scheduler.get_job("digest")
        local = job.next_run_time.astimezone(settings.tz)
        assert (local.hour, local.minute, str(local.tzinfo)) == (7, 0, "Europe/Kyiv")
        for _ in range(2):  # the scheduler fires twice (a restart, a clock step)
            job.modify(next_run_time=dt.datetime.now(settings.tz))
            assert ran.acquire(timeout=30)
        [header] = headers_in(stand_in, channel)
        assert header.body["metadata"]["event_payload"] == {"date": f"{due}"}
        assert "Denmark rules out troops" in texts(header.blocks)
        assert StateStore(settings.state_file()).posted(channel, f"{due}")

        # The refresh ticker: a file written by hand is answerable without a restart.
        before = bot.info().articles
        (tmp_path / "es.txt").write_text("Madrid plan\n" + "Spain will raise spending. " * 10)
        arrive(desk.corpus, tmp_path / "es.txt", ARRIVED)
        deadline = time.monotonic() + 20
        while bot.info().articles == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bot.info().articles == before + 1
    finally:
        scheduler.shutdown(wait=True)
    assert not scheduler.running


def test_the_slack_error_is_not_swallowed_by_the_poster(desk: Desk, stand_in: SlackStandIn) -> None:
    channel = "C0ERROR001"
    stand_in.fail_next(
        "chat.postMessage",
        200,
        body={"ok": False, "error": "not_in_channel"},
        when=lambda body: body.get("channel") == channel,
    )
    with pytest.raises(SlackApiError):
        post(desk, channel)
    assert StateStore(desk.data / "state.sqlite3").posted(channel, f"{DAY}") is None
    assert post(desk, channel).outcome == "posted"


# --- once Slack accepted the channel message --------------------------------------------------


class FlakyState(StateStore):
    """The state database, with ``complete`` (and ``mark_sent``) failing as a test asks."""

    def __init__(self, settings: Settings, complete_fails: int = 0, mark_fails: bool = False):
        super().__init__(settings.state_database(), stale_after=settings.digest_claim_timeout_s)
        self.complete_fails = complete_fails
        self.mark_fails = mark_fails
        self.interrupt = False
        self.completes = 0

    def complete(self, *args: Any, **kwargs: Any) -> None:
        self.completes += 1
        if self.interrupt:
            raise KeyboardInterrupt  # SIGTERM or Ctrl-C right after Slack answered
        if self.complete_fails:
            self.complete_fails -= 1
            raise sa.exc.OperationalError("UPDATE digests", {}, Exception("database went away"))
        super().complete(*args, **kwargs)

    def mark_sent(self, channel: str, day: str, owner: str, ts: str) -> bool:
        if self.mark_fails:
            raise sa.exc.OperationalError("UPDATE digests", {}, Exception("database went away"))
        return super().mark_sent(channel, day, owner, ts)


def post_with(desk: Desk, store: StateStore, channel: str, **overrides: Any) -> DigestRun:
    settings = settings_for(desk, **overrides)
    bot = Newsbot.open(desk.corpus, desk.data)
    client = create_web_client(settings)
    return post_digest(settings, bot, client, store, channel, DAY, sleep=lambda _: None)


def test_a_failed_completion_is_retried_and_never_posts_twice(
    flipped: Desk, stand_in: SlackStandIn
) -> None:
    channel = "C0DONE0001"
    store = FlakyState(settings_for(flipped), complete_fails=2)
    run = post_with(flipped, store, channel)
    assert run.outcome == "posted" and store.completes == 3
    assert store.posted(channel, f"{DAY}") == run.ts
    again = post(flipped, channel)
    assert again.outcome == "already_posted" and again.ts == run.ts
    assert len(headers_in(stand_in, channel)) == 1


def test_a_posted_digest_the_state_cannot_record_is_kept_pending_then_adopted(
    flipped: Desk, stand_in: SlackStandIn
) -> None:
    channel = "C0DONE0002"
    store = FlakyState(settings_for(flipped), complete_fails=100)
    with pytest.raises(DigestUnrecorded, match="kept as posted-pending, so it is not posted"):
        post_with(flipped, store, channel)
    assert len(headers_in(stand_in, channel)) == 1
    pending = StateStore(flipped.data / "state.sqlite3")
    posted_ts = pending.posted(channel, f"{DAY}")
    assert posted_ts  # the claim records the message: posted-pending
    assert pending.last_posted(channel, f"{DAY + dt.timedelta(days=1)}") is None

    # However old the claim gets, no run posts the digest again; one completes it.
    later = post(flipped, channel, DIGEST_CLAIM_TIMEOUT_S="0.001")
    assert later.outcome == "already_posted" and later.ts == posted_ts
    assert len(headers_in(stand_in, channel)) == 1
    last = pending.last_posted(channel, f"{DAY + dt.timedelta(days=1)}")
    assert last is not None and last.snapshot["denmark|troops"]["stance"] == "oppose"
    assert post(flipped, channel).outcome == "already_posted"
    assert len(headers_in(stand_in, channel)) == 1


def test_a_posted_digest_is_not_released_when_the_state_is_gone(
    flipped: Desk, stand_in: SlackStandIn
) -> None:
    channel = "C0DONE0003"
    store = FlakyState(settings_for(flipped), complete_fails=100, mark_fails=True)
    with pytest.raises(DigestUnrecorded, match="check the channel before posting"):
        post_with(flipped, store, channel)
    assert store.completes == 4  # tried, then retried
    # The claim is held, not released: the next run does not post.
    assert post(flipped, channel).outcome == "claimed"
    assert len(headers_in(stand_in, channel)) == 1


def test_an_interrupt_after_the_post_keeps_the_claim(flipped: Desk, stand_in: SlackStandIn) -> None:
    channel = "C0DONE0004"
    store = FlakyState(settings_for(flipped))
    store.interrupt = True
    with pytest.raises(KeyboardInterrupt):
        post_with(flipped, store, channel)
    later = post(flipped, channel, DIGEST_CLAIM_TIMEOUT_S="0.001")
    assert later.outcome == "already_posted"
    assert len(headers_in(stand_in, channel)) == 1


def test_the_cli_reports_a_posted_digest_it_could_not_record(
    flipped: Desk, stand_in: SlackStandIn, tmp_path: Path
) -> None:
    """A state database that refuses the completion: one line, exit 1, no second post."""
    channel = "C0DONE0005"
    db = flipped.data / "state.sqlite3"
    StateStore(db).engine.dispose()  # the schema exists
    with sqlite3.connect(db) as raw:  # every completion of a claim fails, as on a broken disk
        raw.execute(
            "CREATE TRIGGER no_complete BEFORE UPDATE OF status ON digests "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    out = flipped.run("digest", "--post", "--date", f"{DAY}", "--channel", channel)
    assert out.returncode == 1
    said = out.stderr.splitlines()[-1]  # the logs go before it, on stderr too
    [ts] = re.findall(r"\(ts (\d+\.\d+)\)", said)
    assert said == (
        f"incomplete: the digest of 2025-03-11 is posted in C0DONE0005 (ts {ts}), but the "
        "state database did not record it (disk I/O error); its claim is kept as "
        "posted-pending, so it is not posted again"
    )
    again = flipped.run("digest", "--post", "--date", f"{DAY}", "--channel", channel)
    assert again.returncode == 0 and again.stdout.startswith("already done:"), again.stderr
    assert len(headers_in(stand_in, channel)) == 1


def test_a_failed_thread_reply_never_posts_the_digest_again(
    desk: Desk, tmp_path: Path, stand_in: SlackStandIn
) -> None:
    channel = "C0REPLY001"
    arrive(desk.corpus, many_articles(tmp_path, 70))
    stand_in.fail_next(
        "chat.postMessage",
        200,
        body={"ok": False, "error": "msg_too_long"},
        when=lambda body: body.get("channel") == channel and "thread_ts" in body,
    )
    with pytest.raises(DigestIncomplete, match="thread reply 1 of"):
        post(desk, channel)
    again = post(desk, channel)
    assert again.outcome == "already_posted"
    assert len(headers_in(stand_in, channel)) == 1


# --- a run that lost its claim ------------------------------------------------------------


class SlowState(StateStore):
    """The run is slow past DIGEST_CLAIM_TIMEOUT_S: while it builds the digest, another run
    takes its claim over."""

    def __init__(self, settings: Settings, then: Callable[[], None]) -> None:
        super().__init__(settings.state_database(), stale_after=settings.digest_claim_timeout_s)
        self.then = then

    def last_posted(self, channel: str, before_day: str) -> Any:
        self.then()
        return super().last_posted(channel, before_day)


def test_a_run_that_lost_its_claim_does_not_post(flipped: Desk, stand_in: SlackStandIn) -> None:
    channel = "C0SLOW0001"
    settings = settings_for(flipped)
    impatient = StateStore(settings.state_database(), stale_after=0.0)
    taken: list[bool] = []
    slow = SlowState(settings, lambda: taken.append(impatient.claim(channel, f"{DAY}", "next")))
    with capture_logs() as logs:
        run = post_with(flipped, slow, channel)
    assert taken == [True]
    assert run.outcome == "claimed" and run.ts is None
    assert headers_in(stand_in, channel) == []  # the run that took it over posts
    assert [e["outcome"] for e in logs if e["event"] == "digest_post"] == ["lost_claim"]
    with pytest.raises(ClaimLost):  # and its late completion would say so
        slow.complete(channel, f"{DAY}", "whoever", "ts", {})
