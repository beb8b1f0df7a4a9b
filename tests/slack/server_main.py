"""Runs ``bot.serve.serve`` the way ``newsbot serve`` does, with the fake engine:

python -m tests.slack.server_main fake
"""

from __future__ import annotations

import sys

from bot.serve import serve
from bot.settings import SettingsError, load_settings
from tests.slack.fake_newsbot import FakeNewsbot


def main() -> int:
    try:
        serve(load_settings(), FakeNewsbot())  # type: ignore[arg-type]
    except SettingsError as err:
        print(f"newsbot: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
