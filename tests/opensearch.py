"""The cluster the OpenSearch tests run against: ``OPENSEARCH_URL``'s when it is set (a real
cluster), else a stand-in of OpenSearch's HTTP API that the session starts on a free loopback
port and stops at the end: noida-db, from PyPI (the ``dev`` extra), whose Elasticsearch service
opensearch-py talks to. No OpenSearch distribution installs from the registries CI reaches.

Each session's indices carry a prefix of their own, deleted at the end, so a real cluster is
left as it was.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

from bot.settings import Settings


class OpenSearchUnavailable(Exception):
    """The stand-in is not installed or would not start: the message says which."""


class StandIn:
    """noida-db serving only its Elasticsearch API, with its data in a temporary folder."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="newsbot-os-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> None:
        try:
            binary = files("noida_db").joinpath("noida-db")
        except ModuleNotFoundError:
            raise OpenSearchUnavailable(
                "noida-db is not installed: pip install -e '.[dev]'"
            ) from None
        if not binary.is_file():
            raise OpenSearchUnavailable(f"noida-db has no binary at {binary}")
        args = [str(binary), "start", "--data-dir", str(self.root / "data")]
        args += ["--host", "127.0.0.1", "--only", "elasticsearch"]
        args += ["--elasticsearch-port", str(self.port)]
        log = (self.root / "server.log").open("wb")
        self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise OpenSearchUnavailable(f"noida-db exited: {self.log()}")
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(self.url, timeout=1) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise OpenSearchUnavailable(f"noida-db did not answer in {timeout_s:g} s: {self.log()}")

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def session_settings(url: str | None) -> Settings:
    """OpenSearch settings with a prefix of this session's own."""
    prefix = f"newsbot-test-{uuid.uuid4().hex[:8]}"
    overrides: dict[str, object] = {"engine": "opensearch", "opensearch_index_prefix": prefix}
    if url:
        overrides["opensearch_url"] = url
    return Settings(**overrides)


@contextlib.contextmanager
def cluster(url: str | None) -> Iterator[Settings]:
    """Settings for the cluster at ``url``, or for a stand-in started here; on leaving, every
    index of the session's prefix is deleted and the stand-in stops."""
    stand_in = None
    if not url:
        stand_in = StandIn()
        stand_in.start()
        url = stand_in.url
    settings = session_settings(url)
    try:
        yield settings
    finally:
        try:
            remove_indices(settings)
        finally:
            if stand_in is not None:
                stand_in.stop()


def remove_indices(settings: Settings) -> None:
    from bot.opensearch_index import connect

    client = connect(settings)
    names = client.indices.get(index=f"{settings.opensearch_index_prefix}-*")
    for name in names:  # one by one: a cluster may refuse wildcard deletes
        client.indices.delete(index=name)
    client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
