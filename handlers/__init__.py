"""Slack listeners, one module per kind; `register` binds them all to a Bolt app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

from handlers import actions, ask, command

if TYPE_CHECKING:
    from bot import Newsbot
    from bot.settings import Settings
    from bot.state import StateStore
    from handlers.ask import ThreadStore


def register(
    app: App,
    newsbot: Newsbot,
    command_name: str = "/ukraine",
    settings: Settings | None = None,
    state: StateStore | None = None,
    threads: ThreadStore | None = None,
) -> None:
    """``threads``: where mentions keep their thread's context (default: in the process)."""
    command.register(app, newsbot, command_name, settings, state)
    ask.register(app, newsbot, command_name, threads)
    actions.register(app, newsbot, command_name, state)
