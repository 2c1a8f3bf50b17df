"""Structured logging, configured once at start-up.

Log events carry ids, counts and codes. Nothing logs request bodies, row values or exception
messages from the data plane, so no CPR can reach a log line.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from gateway.config import Settings

# Logging is process-wide; so is the one log file it may hold open.
_log_file: TextIO | None = None


def close_log_file() -> None:
    """Close the log file opened by :func:`configure_logging`, if any."""
    global _log_file
    if _log_file is not None:
        structlog.reset_defaults()
        _log_file.close()
        _log_file = None


def _log_target(settings: Settings) -> TextIO:
    global _log_file
    close_log_file()
    if settings.log_file is None:
        return sys.stderr
    settings.log_file.parent.mkdir(parents=True, exist_ok=True)
    _log_file = open(settings.log_file, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    return _log_file


def _add_pid(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Which worker process wrote the line (several workers share one log)."""
    event["pid"] = os.getpid()
    return event


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_pid,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=_log_target(settings)),
        cache_logger_on_first_use=False,
    )
