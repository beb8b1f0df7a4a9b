"""Fixtures: the Slack stand-ins, the app served by `bot.serve.serve` in a subprocess exactly as
``newsbot serve --transport http`` runs it, and a client that talks to it the way Slack does:
signed form-encoded commands and actions, signed JSON events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.slack.stand_in import TEAM_ID, SlackStandIn

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "xoxb-111-222-testtokenvalue"
APP_TOKEN = "xapp-1-A111-333-apptokenvalue"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
USER = "U0ALICE01"
CHANNEL = "C0DESK001"


@pytest.fixture(autouse=True)
def _no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credentials leak in: every SLACK_* and NEWSBOT_* variable is removed."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "NEWSBOT_")):
            monkeypatch.delenv(name)


def http(
    method: str, url: str, body: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    data = body.encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


class ServerProcess:
    """``python -m tests.slack.server_main``: its merged output is kept, line by line."""

    def __init__(self, mode: str, env: dict[str, str], cwd: Path) -> None:
        """``mode``: "fake" runs the fake engine; "cli" runs ``newsbot serve`` itself."""
        argv = [sys.executable, "-m", "tests.slack.server_main", mode]
        if mode == "cli":
            argv = [str(Path(sys.executable).with_name("newsbot")), "serve"]
        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def events(self) -> list[dict[str, Any]]:
        found = []
        with self._cond:
            lines = list(self.lines)
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                found.append(event)
        return found

    def wait_event(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            exited = self.proc.poll() is not None
            if exited:
                self._reader.join(5)
            for event in self.events():
                if predicate(event):
                    return event
            if exited:
                raise AssertionError(f"server exited ({self.proc.returncode}):\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no such log event; output:\n{self.output()[-4000:]}")
            with self._cond:
                self._cond.wait(0.1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def server_env(stand_in: SlackStandIn, gate_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NEWSBOT_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=stand_in.base_url,
        NEWSBOT_TRANSPORT="http",
        NEWSBOT_HOST="127.0.0.1",
        NEWSBOT_PORT="0",
        NEWSBOT_LOG_FORMAT="json",
        NEWSBOT_LOG_LEVEL="DEBUG",
        FAKE_GATE_DIR=str(gate_dir),
        # The state database (event ids) of the session's servers, never the user's folder.
        NEWSBOT_DATA_DIR=str(gate_dir.with_name(f"{gate_dir.name}-data")),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def start_http_server(mode: str, env: dict[str, str], cwd: Path) -> tuple[ServerProcess, str]:
    """Starts the server and waits until the worker answers ``/readyz``."""
    server = ServerProcess(mode, env, cwd)
    url = server.wait_event(lambda e: e.get("event") == "newsbot_serving")["url"]
    deadline = time.monotonic() + 60
    while True:
        try:
            if http("GET", f"{url}/readyz")[0] == 200:
                return server, url
        except OSError:
            pass
        if time.monotonic() > deadline or server.proc.poll() is not None:
            server.stop()
            raise AssertionError(f"server not ready:\n{server.output()[-4000:]}")
        time.sleep(0.1)


@dataclass
class Sent:
    status: int
    body: str
    elapsed: float
    response_url: str | None = None


@dataclass
class Slack:
    """Sends what Slack sends, signed, to the app's request URL."""

    url: str
    stand_in: SlackStandIn
    command_name: str = "/ukraine"

    def post(
        self,
        body: str,
        content_type: str,
        *,
        secret: str = SECRET,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Sent:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
            **(headers or {}),
        }
        started = time.monotonic()
        status, text = http("POST", f"{self.url}/slack/events", body, all_headers)
        return Sent(status, text, time.monotonic() - started)

    def command(self, text: str, *, user: str = USER, channel: str = CHANNEL, **kw: Any) -> Sent:
        response_url = self.stand_in.response_url()
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM_ID,
                "team_domain": "newsroom",
                "channel_id": channel,
                "channel_name": "desk",
                "user_id": user,
                "user_name": "alice",
                "command": kw.pop("command", self.command_name),
                "text": text,
                "api_app_id": "A0NEWSBOT",
                "is_enterprise_install": "false",
                "response_url": response_url,
                "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            }
        )
        sent = self.post(body, "application/x-www-form-urlencoded", **kw)
        sent.response_url = response_url
        return sent

    def mention(
        self,
        text: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        event_id: str | None = None,
        retry: int | None = None,
        channel: str = CHANNEL,
        **kw: Any,
    ) -> tuple[Sent, dict[str, Any]]:
        """``kw``: ``secret``, ``timestamp`` or ``signature``, as for ``post``."""
        event: dict[str, Any] = {
            "type": "app_mention",
            "user": USER,
            "text": text,
            "ts": ts or f"{time.time():.6f}",
            "channel": channel,
            "event_ts": ts or f"{time.time():.6f}",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        body = mention_body(event, event_id)
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        sent = self.post(
            json.dumps(body), "application/json", headers=headers if retry else None, **kw
        )
        return sent, event

    def click(
        self, action_id: str, value: str, *, user: str = "U0BOB0001", ephemeral: bool = True
    ) -> Sent:
        response_url = self.stand_in.response_url()
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "bob", "team_id": TEAM_ID},
            "api_app_id": "A0NEWSBOT",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": "1700000000.000100",
                "channel_id": CHANNEL,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "team": {"id": TEAM_ID, "domain": "newsroom"},
            "channel": {"id": CHANNEL, "name": "desk"},
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "newsbot_answer_actions",
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)})
        sent = self.post(body, "application/x-www-form-urlencoded")
        sent.response_url = response_url
        return sent


def mention_body(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0NEWSBOT",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "team_id": TEAM_ID,
                "user_id": "UBOT000001",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }


@pytest.fixture(scope="session")
def stand_in() -> Iterator[SlackStandIn]:
    server = SlackStandIn()
    yield server
    server.close()


@pytest.fixture(scope="session")
def gate_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gates")


@pytest.fixture(scope="session")
def app_server(
    stand_in: SlackStandIn, gate_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, str]]:
    """The app in http mode with the fake engine, shared by the tests of a session."""
    cwd = tmp_path_factory.mktemp("server")
    server, url = start_http_server("fake", server_env(stand_in, gate_dir), cwd)
    yield server, url
    server.stop()


@pytest.fixture
def slack(app_server: tuple[ServerProcess, str], stand_in: SlackStandIn) -> Slack:
    return Slack(app_server[1], stand_in)


@pytest.fixture
def server(app_server: tuple[ServerProcess, str]) -> ServerProcess:
    return app_server[0]


def open_gate(gate_dir: Path, name: str) -> None:
    (gate_dir / name.lower()).touch()


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every text of a message's blocks, joined: what a reader would see, unrendered."""
    out = []
    for block in blocks:
        for part in [block.get("text"), *block.get("elements", []), *block.get("fields", [])]:
            if isinstance(part, dict) and isinstance(part.get("text"), str | dict):
                text = part["text"]
                out.append(text["text"] if isinstance(text, dict) else text)
    return "\n".join(out)
