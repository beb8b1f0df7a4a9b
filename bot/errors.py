"""Errors a user can cause. Each carries what the user needs to correct the request."""

from __future__ import annotations


class NewsbotError(Exception):
    """Base class: the message is safe to show to a user as it is."""


class UnknownActor(NewsbotError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown actor {name!r}.{hint}")


class UnknownTopic(NewsbotError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown topic {name!r}.{hint}")


class EmptyQuery(NewsbotError):
    def __init__(self) -> None:
        super().__init__("The question is empty.")


class BadLimit(NewsbotError):
    def __init__(self, what: str, value: int) -> None:
        super().__init__(f"{what} must be at least 1, not {value}.")
