"""The ingestion and digest settings: defaults, parsing, and one line naming a bad variable."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from tests.digest.conftest import NEWSBOT


def test_defaults(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path)
    assert s.feeds == [] and s.refresh_s == 60 and not s.allow_private_urls
    assert (s.digest_channel, s.digest_time, s.digest_tz) == (None, dt.time(7), "Europe/Kyiv")
    assert (s.digest_quiet, s.digest_pace_s, s.digest_scheduler) == ("line", 1.0, "off")
    assert s.digest_claim_timeout_s == 600
    assert s.state_file() == tmp_path / "state.sqlite3"


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSBOT_FEEDS", " https://a.example/rss , https://b.example/atom,")
    monkeypatch.setenv("DIGEST_TIME", "6:30")
    monkeypatch.setenv("DIGEST_TZ", "America/New_York")
    monkeypatch.setenv("DIGEST_CHANNEL", "C0DESK0001")
    monkeypatch.setenv("DIGEST_SCHEDULER", "inprocess")
    monkeypatch.setenv("NEWSBOT_STATE_PATH", str(tmp_path / "shared" / "state.db"))
    monkeypatch.setenv("NEWSBOT_CORPUS_DIR", "")  # empty is unset, never the working folder
    s = load_settings()
    assert s.feeds == ["https://a.example/rss", "https://b.example/atom"]
    assert s.digest_time == dt.time(6, 30) and s.tz.key == "America/New_York"
    assert s.state_file() == tmp_path / "shared" / "state.db"
    assert s.corpus_dir is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NEWSBOT_FEEDS", "https://ok.example/rss,feed.xml", "NEWSBOT_FEEDS: 'feed.xml' is not"),
        ("DIGEST_TIME", "7am", "DIGEST_TIME: must be HH:MM on a 24-hour clock"),
        ("DIGEST_TIME", "24:00", "DIGEST_TIME: must be HH:MM"),
        ("DIGEST_TZ", "Kyiv", "DIGEST_TZ: must be an IANA time zone such as Europe/Kyiv"),
        ("DIGEST_CHANNEL", "#desk", "DIGEST_CHANNEL: must be a channel ID such as C0123456789"),
        ("DIGEST_QUIET", "silent", "DIGEST_QUIET: Input should be 'line' or 'skip'"),
        ("DIGEST_PACE_S", "-1", "DIGEST_PACE_S: Input should be greater than or equal to 1"),
        # Slack takes about one message per second per channel: never faster.
        ("DIGEST_PACE_S", "0.5", "DIGEST_PACE_S: Input should be greater than or equal to 1"),
        ("DIGEST_PACE_S", "0", "DIGEST_PACE_S: Input should be greater than or equal to 1"),
        ("DIGEST_SCHEDULER", "cron", "DIGEST_SCHEDULER: Input should be 'off' or 'inprocess'"),
        ("DIGEST_SCHEDULER", "inprocess", "DIGEST_SCHEDULER=inprocess needs DIGEST_CHANNEL"),
        ("DIGEST_CLAIM_TIMEOUT_S", "0", "DIGEST_CLAIM_TIMEOUT_S: Input should be greater than 0"),
        ("NEWSBOT_REFRESH_S", "soon", "NEWSBOT_REFRESH_S: Input should be a valid number"),
        ("NEWSBOT_ALLOW_PRIVATE_URLS", "maybe", "NEWSBOT_ALLOW_PRIVATE_URLS: Input should be"),
    ],
)
def test_a_bad_value_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "\n" not in str(err.value)
    assert message in str(err.value)


def test_a_pace_under_a_second_stops_newsbot_at_start_up(tmp_path: Path) -> None:
    """The process refuses to start, with one line naming the variable, and exit status 2."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NEWSBOT_", "DIGEST_"))
    }
    out = subprocess.run(
        [NEWSBOT, "--data-dir", str(tmp_path), "digest", "--dry-run"],
        env={**env, "DIGEST_PACE_S": "0.5"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "invalid settings: DIGEST_PACE_S: Input should be greater than or equal to 1"
    )
    assert out.stdout == ""
