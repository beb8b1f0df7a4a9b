"""Fixtures shared by the core tests: one index of the shipped corpus per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import Newsbot

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def newsbot(tmp_path_factory: pytest.TempPathFactory) -> Newsbot:
    return Newsbot.open(data_dir=tmp_path_factory.mktemp("data"))
