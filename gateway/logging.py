"""Structured logging, configured once at start-up: one JSON stream for everything.

Log events carry ids, counts and codes. Nothing logs request bodies, row values or exception
messages from the data plane. Two nets catch what slips through anyway:

* every string in every event is screened, and anything CPR-shaped is replaced, in the last
  processor before rendering;
* the standard library's loggers (uvicorn's own lines, libraries) are rendered into the same
  JSON stream, and an exception attached to such a line is reduced to its type: a traceback
  or an exception message can quote data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from gateway.config import Settings
from gateway.domain.identifiers import redact

# Logging is process-wide; so is the one log file it may hold open.
_log_file: TextIO | None = None


def close_log_file() -> None:
    """Close the log file opened by :func:`configure_logging`, if any (and stop the standard
    library's loggers from writing to it)."""
    global _log_file
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h.formatter, _ForeignFormatter)]
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
    opened = open(settings.log_file, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    _log_file = _Tolerant(opened)  # type: ignore[assignment]
    return _log_file  # type: ignore[return-value]


class _Tolerant:
    """A log file that never fails the work it describes: on a full disk (or any other write
    error) the line is dropped and counted, and the request that logged it goes on to give
    its own answer (a 507 for a delivery that cannot be stored, say)."""

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self.dropped = 0

    def write(self, text: str) -> int:
        try:
            return self._file.write(text)
        except OSError:
            self.dropped += 1
            return 0

    def flush(self) -> None:
        try:
            self._file.flush()
        except OSError:
            self.dropped += 1

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the last buffered line may not fit either
            self._file.close()


def _add_pid(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Which worker process wrote the line (several workers share one log)."""
    event["pid"] = os.getpid()
    return event


def _screen(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_screen(k): _screen(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_screen(v) for v in value]
    return value


def _screen_cpr(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    """Replace anything CPR-shaped in any value of the event (the last net)."""
    return {key: _screen(value) for key, value in event.items()}


def _exception_type_only(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A standard-library line with an exception keeps the exception's type, not its text."""
    info = event.pop("exc_info", None)
    if info:
        exc = info[1] if isinstance(info, tuple) else info
        if isinstance(exc, BaseException):
            event["error_type"] = type(exc).__name__
    event.pop("stack_info", None)
    return event


class _ForeignFormatter(logging.Formatter):
    """Renders standard-library records through the same processors as the gateway's own."""

    def __init__(self, processors: list[Any]) -> None:
        super().__init__()
        self._processors = processors

    def format(self, record: logging.LogRecord) -> str:
        event: MutableMapping[str, Any] = {
            "event": record.getMessage() if not record.exc_info else record.msg,
            "logger": record.name,
            "level": record.levelname.lower(),
        }
        if record.exc_info:
            event["exc_info"] = record.exc_info
        rendered: Any = event
        for processor in self._processors:
            rendered = processor(None, record.levelname.lower(), rendered)
        return str(rendered)


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    target = _log_target(settings)
    as_json = settings.log_json
    if as_json is None:  # a person at a terminal reads text; collectors parse JSON
        as_json = not (hasattr(target, "isatty") and target.isatty())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_pid,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _screen_cpr,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=target),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(target)
    handler.setFormatter(
        _ForeignFormatter(
            [
                _exception_type_only,
                structlog.contextvars.merge_contextvars,
                _add_pid,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                _screen_cpr,
                renderer,
            ]
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(max(level, logging.INFO))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
