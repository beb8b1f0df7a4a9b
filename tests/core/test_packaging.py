"""The shipped corpus travels inside the wheel: an installed newsbot finds it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def test_the_wheel_carries_and_finds_the_corpus(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("newsbot-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "bot" / "_corpus" / "actors.yaml").exists()
    # Run from elsewhere with only the unpacked wheel on the path: no checkout to fall back on.
    env = {**os.environ, "PYTHONPATH": str(site), "NEWSBOT_DATA_DIR": str(tmp_path / "data")}
    env.pop("NEWSBOT_CORPUS_DIR", None)
    code = (
        "from bot import Newsbot; from bot.corpus import shipped_corpus_dir; "
        "print(shipped_corpus_dir()); print(len(Newsbot.open().sources().articles))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    where, count = out.stdout.split()
    assert Path(where) == site / "bot" / "_corpus"
    assert count == "5"
