"""Local stand-ins for Slack: the Web API (plus response_url) over HTTP, Socket Mode over
WebSocket. Both bind 127.0.0.1:0 and record every call with its full body."""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as ws_serve

BOT_USER_ID = "UBOT000001"
TEAM_ID = "T0NEWSROOM"


@dataclass
class Call:
    path: str
    method: str  # the Web API method, e.g. "chat.postMessage", or "response_url"
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.body.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else blocks


@dataclass
class Failure:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]
    when: Callable[[dict[str, Any]], bool]


class SlackStandIn:
    """The Slack Web API at ``base_url`` and response URLs under ``/respond/``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.ws_url: str | None = None
        self._cond = threading.Condition()
        self._failures: dict[str, list[Failure]] = {}
        self._ts = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/api/"

    def response_url(self) -> str:
        return f"{self.root}/respond/{uuid.uuid4().hex}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(
        self,
        method: str,
        status: int,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        when: Callable[[dict[str, Any]], bool] = lambda body: True,
    ) -> None:
        """The next call of ``method`` (whose body satisfies ``when``) gets this answer."""
        error = body or {"ok": False, "error": "ratelimited"}
        failure = Failure(status, headers or {}, error, when)
        with self._cond:
            self._failures.setdefault(method, []).append(failure)

    def matching(self, predicate: Callable[[Call], bool]) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if predicate(c)]

    def wait_for(
        self, predicate: Callable[[Call], bool], count: int = 1, timeout: float = 15.0
    ) -> list[Call]:
        """Polls until ``count`` matching calls arrived (listeners run after the ack)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if predicate(c)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.path) for c in self.calls[-10:]]
                    raise AssertionError(f"{len(found)}/{count} matching calls; last: {seen}")
                self._cond.wait(left)

    def to_url(self, url: str) -> Callable[[Call], bool]:
        path = url.removeprefix(self.root)
        return lambda c: c.path == path

    # --- the server --------------------------------------------------------------------

    def _answer(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        with self._cond:
            pending = self._failures.get(method, [])
            for f in pending:
                if f.when(body):
                    pending.remove(f)
                    return f.status, f.headers, f.body
        ts = f"1700000000.{next(self._ts):06d}"
        if method == "auth.test":
            return (
                200,
                {},
                {
                    "ok": True,
                    "url": "https://newsroom.example.slack.com/",
                    "team": "Newsroom",
                    "user": "newsbot",
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "bot_id": "B0NEWSBOT",
                    "is_enterprise_install": False,
                },
            )
        if method == "chat.postMessage":
            return 200, {}, {"ok": True, "channel": body.get("channel"), "ts": ts}
        if method == "chat.postEphemeral":
            return 200, {}, {"ok": True, "message_ts": ts}
        if method == "apps.connections.open":
            if self.ws_url is None:
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            return 200, {}, {"ok": True, "url": self.ws_url}
        return 200, {}, {"ok": True}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                text = raw.decode("utf-8")
                body = json.loads(text) if text and "json" in ctype else dict(parse_qsl(text))
                if self.path.startswith("/respond/"):
                    method = "response_url"
                else:
                    method = self.path.removeprefix("/api/").split("?")[0]
                if method == "response_url":
                    status, headers, answer = 200, {}, "ok"
                else:
                    status, headers, answer = stand_in._answer(method, body)
                call = Call(self.path, method, dict(self.headers.items()), body, status)
                # Recorded before the answer goes out: a caller that has its answer must find
                # its call (recording after raced with tests on a loaded machine).
                with stand_in._cond:
                    stand_in.calls.append(call)
                    stand_in._cond.notify_all()
                payload = answer if isinstance(answer, str) else json.dumps(answer)
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload.encode())))
                self.end_headers()
                self.wfile.write(payload.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class SocketModeStandIn:
    """Slack's Socket Mode endpoint: says hello, sends envelopes, records the acks."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self._outbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._cond = threading.Condition()
        self._connections: list[ServerConnection] = []
        self._server = ws_serve(self._session, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link"

    @property
    def connected(self) -> int:
        with self._cond:
            return len(self._connections)

    def send(self, kind: str, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        self._outbox.put(envelope)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ack in self.acks:
                    if ack.get("envelope_id") == envelope_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack for envelope {envelope_id}")
                self._cond.wait(left)

    def drop(self) -> None:
        """Closes every open connection, as Slack does when it rotates its servers."""
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    def close(self) -> None:
        self.drop()
        self._server.shutdown()

    def _session(self, connection: ServerConnection) -> None:
        with self._cond:
            self._connections.append(connection)
        connection.send(json.dumps({"type": "hello", "num_connections": 1}))
        try:
            while True:
                with contextlib.suppress(queue.Empty):
                    connection.send(json.dumps(self._outbox.get(timeout=0.05)))
                try:
                    message = connection.recv(timeout=0.05)
                except TimeoutError:
                    continue
                with self._cond:
                    self.acks.append(json.loads(message))
                    self._cond.notify_all()
        except Exception:  # the client went away: its session ends with it
            pass
        finally:
            with self._cond:
                self._connections.remove(connection)
