from bot.core import Newsbot

__all__ = ["Newsbot"]
