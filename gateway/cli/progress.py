"""Progress bars for long verbs (push, pull, verify, export), drawn with rich on standard
error and only on a terminal: piped or scripted runs get no escape codes, and standard output
keeps only the result. The bar disappears when the work is done (the result line stays)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[int], None]


@contextmanager
def progress(label: str, total: int | None, *, unit: str = "bytes") -> Iterator[Advance]:
    """A bar of ``total`` (bytes, or entries with ``unit="entries"``); yields the function
    that moves it on by ``n``. A no-op where standard error is not a terminal."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console  # imported on use: 'gateway --help' stays quick
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    amount = (
        (DownloadColumn(), TransferSpeedColumn()) if unit == "bytes" else (MofNCompleteColumn(),)
    )
    columns = (TextColumn("{task.description}"), BarColumn(), *amount, TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
