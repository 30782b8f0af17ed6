"""Logs as one line per event on stderr — time, level, user where known, where, what — so
journald or a log collector takes them as they are.  A newline in a message (a traceback, a
hostile username) is written as the two characters \\n: nobody can start a forged line.

What goes into a message is never personal data: usernames and codes, counts and durations, not
names, addresses, phone or ID numbers, and never a driver error's DETAIL with row values
(`services.store.engine.describe_driver_error`)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TextIO

LOGGERS = ("services", "web", "pages")  # the packages whose modules log (getLogger(__name__))
FORMAT = "%(asctime)s %(levelname)s user=%(user)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
NO_USER = "-"

# The user on whose behalf this thread works: set per script run by the composition root and per
# request by the routes, read by every line logged meanwhile.
_USER: ContextVar[str] = ContextVar("log_user", default=NO_USER)


class OneLineFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(FORMAT, DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "user", None):
            record.user = _USER.get()
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")


def log_as(username: str | None) -> None:
    """Lines logged from here on in this thread (or task) name `username`."""
    _USER.set(username or NO_USER)


@contextlib.contextmanager
def logging_as(username: str | None) -> Iterator[None]:
    token = _USER.set(username or NO_USER)
    try:
        yield
    finally:
        _USER.reset(token)


def configure_logging(
    stream: TextIO | None = None, level: str = "INFO", *, path: Path | None = None
) -> logging.Handler:
    """One handler for the app's loggers, writing to `path`, else `stream`, else stderr (calling
    again replaces it, closing the file it wrote)."""
    handler: logging.Handler = (
        logging.FileHandler(path, encoding="utf-8") if path is not None else logging.StreamHandler(stream or sys.stderr)
    )
    handler.setFormatter(OneLineFormatter())
    handler.set_name("minqing")
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "minqing"]:
            logger.removeHandler(old)
            old.close()
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False  # Streamlit's root handler would print each line a second time
    return handler
