"""One pulse command at a time per project: an OS lock on <workdir>/pulse.lock.

`pulse run`, `pulse send` and `pulse due` hold an exclusive `fcntl.flock` on
the lock file while they work. The kernel releases it when the process ends,
however it ends, so the file left behind by a killed run never blocks the next
one. A second command that finds the lock held stops at once with exit code 1
("another pulse command is running"), naming the holder recorded in the file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from pipeline.core.errors import ProjectBusy
from pipeline.core.periods import now_utc

LOCK_FILE = "pulse.lock"


@contextmanager
def project_lock(workdir: Path, command: str, now: datetime | None = None) -> Iterator[Path]:
    """Hold the project's lock for the duration of the block, or raise ProjectBusy."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            raise ProjectBusy(
                f"another pulse command is running on this project ({holder}); nothing was done",
                f"wait for it to finish; the lock ({path}) is released when that process ends",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: pulse {command}, since {now_utc(now).isoformat(timespec='seconds')}\n"
                  .encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "holder unknown"
