"""Slack listeners, one module per kind; `register` binds them all to a Bolt app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

from handlers import actions, ask, command

if TYPE_CHECKING:
    from bot import Newsbot
    from bot.settings import Settings
    from bot.state import StateStore


def register(
    app: App,
    newsbot: Newsbot,
    command_name: str = "/ukraine",
    settings: Settings | None = None,
    state: StateStore | None = None,
) -> None:
    command.register(app, newsbot, command_name, settings, state)
    ask.register(app, newsbot, command_name)
    actions.register(app, newsbot, command_name, state)
