"""The HTTP mode's probes and its start-up ``auth.test``, each server with a Web API stand-in
of its own, so that every ``auth.test`` it records is that server's."""

from __future__ import annotations

import json
from pathlib import Path

from tests.slack.conftest import (
    BOT_TOKEN,
    ServerProcess,
    Slack,
    http,
    server_env,
    start_http_server,
)
from tests.slack.stand_in import SlackStandIn


def auth_tests(stand_in: SlackStandIn) -> list[int]:
    return [c.status for c in stand_in.matching(lambda c: c.method == "auth.test")]


def test_healthz_and_readyz_when_ready(app_server: tuple[ServerProcess, str]):
    _, url = app_server
    status, body = http("GET", f"{url}/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, body = http("GET", f"{url}/readyz")
    assert status == 200 and json.loads(body) == {"ready": True, "articles": 3}


def test_the_token_is_verified_at_start_up_and_no_request_waits_on_it(
    gate_dir: Path, tmp_path: Path
):
    stand_in = SlackStandIn()
    server = None
    try:
        server, url = start_http_server("fake", server_env(stand_in, gate_dir), tmp_path)
        verified = server.wait_event(lambda e: e.get("event") == "slack_token_verified")
        assert verified["bot_user_id"] == "UBOT000001"
        assert auth_tests(stand_in) == [200]  # at start-up; /readyz did not call it again
        [call] = stand_in.matching(lambda c: c.method == "auth.test")
        assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"

        sent = Slack(url, stand_in).command("stance Poland")
        assert sent.status == 200
        stand_in.wait_for(stand_in.to_url(sent.response_url))
        assert auth_tests(stand_in) == [200]  # Bolt used the start-up result
    finally:
        if server is not None:
            server.stop()
        stand_in.close()


def test_readyz_is_503_until_slack_accepts_the_token(gate_dir: Path, tmp_path: Path):
    stand_in = SlackStandIn()
    refused = {"ok": False, "error": "invalid_auth"}
    for _ in range(2):  # the start-up call, then the first /readyz
        stand_in.fail_next("auth.test", 200, body=refused)
    server = ServerProcess("fake", server_env(stand_in, gate_dir), tmp_path)
    try:
        url = server.wait_event(lambda e: e.get("event") == "newsbot_serving")["url"]
        assert http("GET", f"{url}/healthz")[0] == 200  # up, though not ready
        status, body = http("GET", f"{url}/readyz")
        assert status == 503 and json.loads(body) == {"ready": False, "error": "SlackApiError"}
        not_verified = server.wait_event(lambda e: e.get("event") == "slack_token_not_verified")
        assert not_verified["level"] == "warning"
        assert server.wait_event(lambda e: e.get("event") == "newsbot_not_ready")
        status, body = http("GET", f"{url}/readyz")
        assert status == 200 and json.loads(body)["ready"] is True
        assert auth_tests(stand_in) == [200, 200, 200]

        # /readyz handed its result to Bolt: the first request makes no auth.test of its own.
        sent = Slack(url, stand_in).command("stance Poland")
        assert sent.status == 200
        stand_in.wait_for(stand_in.to_url(sent.response_url))
        assert len(auth_tests(stand_in)) == 3
    finally:
        server.stop()
        stand_in.close()
