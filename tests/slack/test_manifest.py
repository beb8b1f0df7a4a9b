"""deploy/slack-app-manifest.yml and the listeners the app registers describe the same app:
every command, event and button the app handles is declared, and nothing else is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.app import create_app
from bot.settings import Settings, load_settings
from handlers.command import answer
from handlers.common import with_buttons
from tests.slack.conftest import BOT_TOKEN, ROOT, SECRET
from tests.slack.fake_newsbot import FakeNewsbot

MANIFEST = ROOT / "deploy" / "slack-app-manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(Path(MANIFEST).read_text())


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SECRET,
        data_dir=tmp_path_factory.mktemp("data"),  # the state database
    )
    client = WebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/")  # never called
    return create_app(settings, FakeNewsbot(), client)  # type: ignore[arg-type]


def command_request(name: str) -> BoltRequest:
    return BoltRequest(body={"command": name, "text": "", "team_id": "T1"}, mode="socket_mode")


def event_request(kind: str) -> BoltRequest:
    body = {"type": "event_callback", "team_id": "T1", "event": {"type": kind}}
    return BoltRequest(body=body, mode="socket_mode")


def action_request(action_id: str) -> BoltRequest:
    body = {"type": "block_actions", "team": {"id": "T1"}, "actions": [{"action_id": action_id}]}
    return BoltRequest(body=body, mode="socket_mode")


def rendered_action_ids() -> set[str]:
    """The buttons our answers carry: an ephemeral answer has them all."""
    newsbot = FakeNewsbot()
    message = with_buttons(
        answer(newsbot, "/ukraine", "stance Poland"), "stance Poland", newsbot, shareable=True
    )  # type: ignore[arg-type]
    return {e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]}


def matching(app: App, request: BoltRequest) -> list[Any]:
    return [ls for ls in app._listeners if ls.matches(req=request, resp=BoltResponse(status=200))]


def test_every_declared_command_and_event_has_a_listener(app, manifest):
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert commands == [Settings.model_fields["command"].default]
    for name in commands:
        assert matching(app, command_request(name)), name
    for kind in events:
        assert matching(app, event_request(kind)), kind


def test_every_listener_is_declared(app, manifest):
    declared = [command_request(c["command"]) for c in manifest["features"]["slash_commands"]]
    declared += [
        event_request(e) for e in manifest["settings"]["event_subscriptions"]["bot_events"]
    ]
    if manifest["settings"]["interactivity"]["is_enabled"]:
        declared += [action_request(a) for a in rendered_action_ids()]
    for listener in app._listeners:
        assert any(listener.matches(req=r, resp=BoltResponse(status=200)) for r in declared), (
            f"{listener.ack_function.__qualname__} handles something the manifest does not declare"
        )


def test_every_rendered_button_has_a_listener(app, manifest):
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    for action_id in rendered_action_ids():
        assert matching(app, action_request(action_id)), action_id


def test_nothing_undeclared_is_handled(app):
    assert not matching(app, command_request("/other"))
    assert not matching(app, event_request("message"))
    assert not matching(app, action_request("unknown_button"))


def test_manifest_asks_only_for_the_scopes_in_use(manifest):
    # chat.postMessage/postEphemeral, reactions.add/remove, the command, the mention event.
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read",
        "chat:write",
        "commands",
        "reactions:write",
    ]
    assert "user" not in manifest["oauth_config"]["scopes"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert Settings.model_fields["transport"].default == "socket"
