"""``board``: the actor × topic grid of stances, the desk's "who stands where" at a glance."""

from __future__ import annotations

from bot.slack_blocks import board_message
from handlers.common import Query, Reply

NAME = "board"
USAGE = ("board", "Who stands where: every actor's stance on every topic.", "board")


def answer(q: Query) -> Reply:
    board = q.newsbot.board()
    return Reply(
        NAME,
        board_message(board, q.newsbot.info(), q.newsbot.topic_label),
        answer=True,
        outcome="ok" if board.cells else "empty",
        results=len(board.cells),
    )
