"""Outputs: write report files atomically and record a manifest.

Every file is first written completely into the project's working folder
(`<workdir>/staging/`) and then moved into `reports/<report>/<period>/` with
`os.replace`, which is atomic on one file system. A run that fails before that
point leaves the previous good report untouched, and no half-written file is
ever visible where a reader or the mailer would pick it up.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OutputFile:
    name: str
    content: bytes


def write_atomically(target: Path, content: bytes, staging: Path) -> None:
    """Write `content` to `target` via a temporary file in `staging` and a rename."""
    staging.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=staging, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def publish(files: list[OutputFile], folder: Path, staging: Path) -> list[Path]:
    """Move complete files into `folder`; the manifest, if any, goes last."""
    ordered = sorted(files, key=lambda f: f.name == "manifest.json")
    written = []
    for item in ordered:
        target = folder / item.name
        write_atomically(target, item.content, staging)
        written.append(target)
    return written


def clean_staging(staging: Path) -> None:
    """Remove leftovers of a crashed earlier run."""
    if staging.exists():
        shutil.rmtree(staging, ignore_errors=True)


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")
