"""Settings validation, the app factory without network, and the in-process stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.app import create_app
from bot.settings import SettingsError, load_settings
from handlers.ask import ThreadContext, ThreadMemory
from tests.slack.conftest import BOT_TOKEN, SECRET
from tests.slack.fake_newsbot import FakeNewsbot
from tests.slack.stand_in import SlackStandIn


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a developer's .env must not leak into these tests


def test_defaults():
    s = load_settings()
    assert (s.transport, s.host, s.port, s.command) == ("socket", "127.0.0.1", 3000, "/ukraine")
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.listener_workers == 16
    assert s.log_level == "INFO"


def test_environment_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN={BOT_TOKEN}\nNEWSBOT_COMMAND=/desk\n")
    monkeypatch.setenv("SLACK_LISTENER_WORKERS", "32")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("NEWSBOT_LOG_LEVEL", "debug")
    s = load_settings()
    assert s.slack_bot_token is not None
    assert s.slack_bot_token.get_secret_value() == BOT_TOKEN
    assert BOT_TOKEN not in repr(s)
    assert (s.command, s.listener_workers, s.log_level) == ("/desk", 32, "DEBUG")
    assert s.slack_api_url == "http://127.0.0.1:9/api/"  # slack-sdk joins with urljoin


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-123-user", "SLACK_BOT_TOKEN: must be a bot token starting"),
        ("SLACK_APP_TOKEN", "xoxb-123-bot", "SLACK_APP_TOKEN: must be an app-level token"),
        ("SLACK_SIGNING_SECRET", "two words", "SLACK_SIGNING_SECRET: must be the app's"),
        ("SLACK_API_URL", "ftp://proxy/", "SLACK_API_URL: must be an http(s) URL"),
        ("NEWSBOT_COMMAND", "ukraine", "NEWSBOT_COMMAND: must be a slash command"),
        ("NEWSBOT_TRANSPORT", "carrier-pigeon", "NEWSBOT_TRANSPORT: Input should be"),
        ("NEWSBOT_PORT", "70000", "NEWSBOT_PORT: Input should be less than or equal"),
        ("NEWSBOT_LOG_LEVEL", "LOUD", "NEWSBOT_LOG_LEVEL: must be one of"),
        ("SLACK_LISTENER_WORKERS", "0", "SLACK_LISTENER_WORKERS: Input should be greater"),
    ],
)
def test_a_malformed_setting_is_one_line_naming_it(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    text = str(err.value)
    assert "\n" not in text
    assert message in text
    if name.endswith(("TOKEN", "SECRET")):
        assert value not in text


def test_oauth_credentials_are_refused(monkeypatch):
    monkeypatch.setenv("SLACK_CLIENT_ID", "123.456")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret-value")
    with pytest.raises(SettingsError, match="single-workspace") as err:
        load_settings()
    assert "client-secret-value" not in str(err.value)
    monkeypatch.delenv("SLACK_CLIENT_SECRET")
    load_settings()  # one of them alone changes nothing in Bolt


@pytest.mark.parametrize(
    ("transport", "given", "missing"),
    [
        ("socket", {}, "SLACK_BOT_TOKEN, SLACK_APP_TOKEN not set"),
        ("socket", {"slack_bot_token": BOT_TOKEN}, "SLACK_APP_TOKEN not set"),
        ("http", {"slack_bot_token": BOT_TOKEN}, "SLACK_SIGNING_SECRET not set"),
        ("http", {"slack_signing_secret": SECRET}, "SLACK_BOT_TOKEN not set"),
    ],
)
def test_serving_needs_the_credentials_of_its_transport(transport, given, missing):
    with pytest.raises(SettingsError, match=missing):
        load_settings(transport=transport, **given).check_for_serving()


def test_serving_does_not_need_the_other_transports_credentials():
    load_settings(
        transport="http", slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET
    ).check_for_serving()
    load_settings(slack_bot_token=BOT_TOKEN, slack_app_token="xapp-1-A-1-x").check_for_serving()


def test_app_builds_from_settings_alone_without_any_network_call(monkeypatch, tmp_path):
    for name in list(os.environ):
        monkeypatch.delenv(name)
    stand_in = SlackStandIn()
    try:
        settings = load_settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=stand_in.base_url,
            listener_workers=7,
            data_dir=tmp_path,  # the state database
        )
        app = create_app(settings, FakeNewsbot())  # type: ignore[arg-type]
        assert stand_in.calls == []
        assert isinstance(app.client, WebClient)
        assert app.client.token == BOT_TOKEN
        assert app.client.base_url == stand_in.base_url
        kinds = {type(h) for h in app.client.retry_handlers}
        assert {RateLimitErrorRetryHandler, ServerErrorRetryHandler} <= kinds
        assert app.listener_runner.listener_executor._max_workers == 7  # type: ignore[attr-defined]
    finally:
        stand_in.close()


def test_app_without_bot_token_is_refused():
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        create_app(load_settings(), FakeNewsbot())  # type: ignore[arg-type]


def test_thread_memory_forgets_old_and_least_recent_threads():
    now = [0.0]
    memory = ThreadMemory(ttl_s=60, max_threads=2, clock=lambda: now[0])
    memory.put(("T", "C", "1"), ThreadContext("poland", "troops"))
    memory.put(("T", "C", "2"), ThreadContext("spain", None))
    assert memory.get(("T", "C", "1")) == ThreadContext("poland", "troops")
    memory.put(("T", "C", "3"), ThreadContext(None, "sanctions"))
    assert memory.get(("T", "C", "1")) is None  # evicted: the oldest of three
    now[0] = 61.0
    assert memory.get(("T", "C", "3")) is None  # expired
