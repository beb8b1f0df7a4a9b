"""A real PostgreSQL server for the tests: a new cluster in a temporary folder (initdb), on a
free loopback port (pg_ctl), stopped and removed at the end of the test session.

CI installs Debian's ``postgresql`` package (``.ci/run``); its programs are in
``/usr/lib/postgresql/<version>/bin``, not on the PATH. initdb and the server refuse to run as
root, so as root they run as ``nobody``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

USER = "newsbot"
# Durability is of no use to a server that lives for one test session; speed is.
FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class PostgresUnavailable(Exception):
    """No PostgreSQL programs, or the server would not start: the message says which."""


def bin_dir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: on the PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if not debian:
        raise PostgresUnavailable(
            "no initdb on the PATH or in /usr/lib/postgresql/*/bin (Debian: apt-get install "
            "postgresql)"
        )
    return Path(debian[-1]).parent


class PostgresServer:
    def __init__(self) -> None:
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
        self.port = _free_port()
        self._as_user: list[str] = []

    def start(self) -> None:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self._as_user = ["runuser", "-u", "nobody", "--"]
        self._run("initdb", "-D", "data", "-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 {FAST}"
        self._run(
            "pg_ctl", "-D", "data", "-l", "server.log", "-w", "-t", "60", "-o", options, "start"
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database of the test's own; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", "data", "-w", "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_user, str(self.bin / program), *args],
            cwd=self.root,  # relative paths, and a folder that ``nobody`` may enter
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{program} failed ({done.returncode}): {done.stderr.strip()[-2000:]} {tail}"
            )


def start() -> PostgresServer:
    server = PostgresServer()
    try:
        server.start()
    except (OSError, subprocess.TimeoutExpired, KeyError, PostgresUnavailable) as exc:
        shutil.rmtree(server.root, ignore_errors=True)  # KeyError: no user named nobody
        raise PostgresUnavailable(f"{type(exc).__name__}: {exc}") from exc
    return server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
