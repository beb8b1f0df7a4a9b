"""``bot.serve.serve`` as ``newsbot serve`` runs it: start-up checks, SIGTERM draining, and
Socket Mode against a local WebSocket stand-in."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.slack.conftest import (
    APP_TOKEN,
    BOT_TOKEN,
    CHANNEL,
    USER,
    ServerProcess,
    Slack,
    http,
    mention_body,
    open_gate,
    server_env,
    start_http_server,
)
from tests.slack.stand_in import BOT_USER_ID, TEAM_ID, SlackStandIn, SocketModeStandIn


def run_once(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.slack.server_main", "fake"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        (
            {"NEWSBOT_TRANSPORT": "socket"},
            "newsbot: SLACK_APP_TOKEN not set: NEWSBOT_TRANSPORT=socket needs SLACK_BOT_TOKEN "
            "and SLACK_APP_TOKEN",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxp-user-token-not-a-bot-token"},
            "newsbot: invalid settings: SLACK_BOT_TOKEN: must be a bot token starting with xoxb-",
        ),
        (
            {"SLACK_CLIENT_ID": "123.456", "SLACK_CLIENT_SECRET": "s3cr3t"},
            "newsbot: invalid settings: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: both are set,",
        ),
    ],
)
def test_bad_settings_stop_start_up_with_one_line(stand_in, gate_dir, tmp_path, extra, line):
    result = run_once(server_env(stand_in, gate_dir, **extra), tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(line)
    assert "xoxp-user-token" not in result.stderr and "s3cr3t" not in result.stderr


def test_a_refused_app_token_stops_start_up_with_one_line(stand_in, gate_dir, tmp_path):
    assert stand_in.ws_url is None  # apps.connections.open answers invalid_auth
    env = server_env(stand_in, gate_dir, NEWSBOT_TRANSPORT="socket", SLACK_APP_TOKEN=APP_TOKEN)
    result = run_once(env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "newsbot: SLACK_APP_TOKEN: Slack refused the Socket Mode connection (invalid_auth)"
    )
    assert APP_TOKEN not in result.stderr


def test_sigterm_drains_an_answer_in_progress(stand_in, gate_dir, tmp_path):
    server, url = start_http_server("fake", server_env(stand_in, gate_dir), tmp_path)
    try:
        sent = Slack(url, stand_in).command("stance slow-drain")
        assert sent.status == 200
        server.proc.send_signal(signal.SIGTERM)
        server.wait_event(lambda e: e.get("event") == "Handling signal: term")
        open_gate(gate_dir, "slow-drain")
        body = stand_in.wait_for(stand_in.to_url(sent.response_url))[0].body
        assert body["blocks"][0]["text"]["text"] == "slow-drain"
        assert server.proc.wait(30) == 0
    finally:
        server.stop()
    names = [e.get("event") for e in server.events()]
    assert names.index("newsbot_draining") < names.index("slack_request")
    assert names.index("slack_request") < names.index("newsbot_drained")


# --- Socket Mode ---------------------------------------------------------------------------


@pytest.fixture
def socket_server(
    stand_in: SlackStandIn, gate_dir: Path, tmp_path: Path
) -> Iterator[tuple[ServerProcess, SocketModeStandIn, str]]:
    ws = SocketModeStandIn()
    stand_in.ws_url = ws.url
    env = server_env(stand_in, gate_dir, NEWSBOT_TRANSPORT="socket", SLACK_APP_TOKEN=APP_TOKEN)
    del env["SLACK_SIGNING_SECRET"]  # Socket Mode needs none
    server = ServerProcess("fake", env, tmp_path)
    try:
        health = server.wait_event(lambda e: e.get("event") == "newsbot_serving")["health_url"]
        wait_health(health, 200)
        yield server, ws, health
    finally:
        server.stop()
        ws.close()
        stand_in.ws_url = None


def wait_health(url: str, status: int, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        got, body = http("GET", url)
        if got == status:
            return json.loads(body)
        assert time.monotonic() < deadline, f"health stayed {got} {body}"
        time.sleep(0.1)


def slash_payload(text: str, response_url: str) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "newsroom",
        "channel_id": CHANNEL,
        "channel_name": "desk",
        "user_id": USER,
        "user_name": "alice",
        "command": "/ukraine",
        "text": text,
        "api_app_id": "A0NEWSBOT",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }


def test_socket_mode_answers_commands_and_reports_health(socket_server, stand_in):
    _, ws, health = socket_server
    assert wait_health(health, 200) == {"connected": True}
    assert http("GET", health.replace("/healthz", "/readyz"))[0] == 200
    opened = stand_in.matching(lambda c: c.method == "apps.connections.open")
    assert opened[-1].headers["Authorization"] == f"Bearer {APP_TOKEN}"

    response_url = stand_in.response_url()
    envelope = ws.send("slash_commands", slash_payload("stance Poland", response_url))
    assert ws.wait_ack(envelope)["envelope_id"] == envelope
    body = stand_in.wait_for(stand_in.to_url(response_url))[0].body
    assert body["response_type"] == "ephemeral"
    assert body["blocks"][0]["text"]["text"] == "Poland"


def test_socket_mode_answers_a_redelivered_mention_once(socket_server, stand_in):
    _, ws, _ = socket_server
    where = "C" + uuid.uuid4().hex[:9].upper()
    event = {
        "type": "app_mention",
        "user": USER,
        "text": f"<@{BOT_USER_ID}> Poland troops?",
        "ts": "1700000100.000100",
        "channel": where,
        "event_ts": "1700000100.000100",
    }
    payload = mention_body(event, "Ev0SOCKET001")
    ws.wait_ack(ws.send("events_api", payload))
    ws.wait_ack(ws.send("events_api", payload, retry_attempt=1))
    post = stand_in.wait_for(
        lambda c: c.method == "chat.postMessage" and c.body["channel"] == where
    )
    assert post[0].body["thread_ts"] == "1700000100.000100"
    assert post[0].headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    time.sleep(0.5)
    assert (
        len(
            stand_in.matching(
                lambda c: c.body.get("channel") == where and c.method == "chat.postMessage"
            )
        )
        == 1
    )


def test_socket_mode_health_follows_the_connection(socket_server, stand_in):
    _, ws, health = socket_server
    stand_in.ws_url = None  # reconnecting fails from now on
    # The client counts itself connected at the handshake, before the stand-in's session thread
    # has registered the connection: dropping before that would drop nothing.
    deadline = time.monotonic() + 20
    while not ws.connected:
        assert time.monotonic() < deadline, "the stand-in never saw the connection"
        time.sleep(0.05)
    ws.drop()
    assert wait_health(health, 503) == {"connected": False}


def test_socket_mode_sigterm_drains_an_answer_in_progress(socket_server, stand_in, gate_dir):
    server, ws, _ = socket_server
    response_url = stand_in.response_url()
    ws.wait_ack(ws.send("slash_commands", slash_payload("stance slow-socket", response_url)))
    server.proc.send_signal(signal.SIGTERM)
    server.wait_event(lambda e: e.get("event") == "newsbot_stopping")
    open_gate(gate_dir, "slow-socket")
    body = stand_in.wait_for(stand_in.to_url(response_url))[0].body
    assert body["blocks"][0]["text"]["text"] == "slow-socket"
    assert server.proc.wait(30) == 0
    assert any(e.get("event") == "newsbot_drained" for e in server.events())
