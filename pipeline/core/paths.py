"""Paths as the user sees them, and the rule that keeps a project's files inside its folder.

`display_path` writes a path as a user would type it (relative to the current
folder when inside it), for every message that names a file. `pattern_problem`
decides from a glob's text alone whether it can reach outside the project
folder (an absolute path elsewhere, or a `..` that climbs above it); sources
and, for SQL, the query sandbox follow the same rule unless a project sets
`project.allow_outside_paths: true`.
"""

from __future__ import annotations

import os
from pathlib import Path


def display_path(path: Path) -> str:
    """A path as a user would type it: relative to the cwd when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


GLOB_CHARS = set("*?[")
OUTSIDE_HINT = ("keep the exports under the project folder, or set 'allow_outside_paths: true' under "
                "'project:' in config/pulse.yaml")


def inside(path: str | Path, root: str | Path) -> bool:
    try:
        Path(path).relative_to(root)
        return True
    except ValueError:
        return False


def pattern_problem(root: Path, pattern: str) -> str | None:
    """Why `pattern` can reach outside `root` (None when it stays inside).

    Decided on the text alone: an absolute pattern must lie under the project
    folder, and a `..` may not climb above it, counting `**` as zero folders
    (it can match none) and `*` as one.
    """
    root_abs = os.path.normpath(os.path.abspath(root))
    parts = Path(pattern).parts
    if Path(pattern).is_absolute():
        static = []
        for part in parts:
            if GLOB_CHARS & set(part) or part == "..":
                break
            static.append(part)
        if not inside(os.path.normpath(os.path.join(*static)), root_abs) and not inside(
            os.path.realpath(os.path.join(*static)), os.path.realpath(root_abs)
        ):
            return f"'{pattern}' is outside the project folder"
        parts = Path(os.path.relpath(os.path.join(*static), root_abs)).parts + parts[len(static):]
    depth = 0
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                return f"'{pattern}' climbs out of the project folder with '..'"
        elif part != "**":
            depth += 1
    return None


PROJECT_MARKER = Path("config") / "pulse.yaml"


def find_project(start: Path) -> Path | None:
    """The project folder holding `start`: the nearest folder, `start` or above, with config/pulse.yaml.

    Like git finding its repository, so a command works from any folder inside
    a project (its queries/, data/, reports/ ...).
    """
    if (start / PROJECT_MARKER).is_file():
        return start  # as given (a relative path stays relative)
    for folder in Path(os.path.abspath(start)).parents:
        if (folder / PROJECT_MARKER).is_file():
            return folder
    return None
