"""Progress on an interactive terminal, nothing in cron (stderr is not a terminal there)."""

from __future__ import annotations

import sys
from collections.abc import Callable


def progress_printer(quiet: bool = False) -> Callable[[str], None]:
    """A progress callback: prints steps on an interactive stderr, nothing otherwise (or with --quiet)."""
    if quiet or not sys.stderr.isatty():
        return lambda _message: None
    from rich.console import Console

    console = Console(stderr=True)

    def show(message: str) -> None:
        console.print(f"[dim]› {message}[/dim]")

    return show
