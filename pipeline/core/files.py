"""A finished output of a run (an HTML or PDF report, the manifest): its file name and bytes,
complete in memory before anything is published."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFile:
    """One finished output of a run: its file name and bytes."""

    name: str
    content: bytes
