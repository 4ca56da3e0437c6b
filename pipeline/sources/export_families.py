"""Families of export files: the files one system writes again and again, one glob each.

`pulse init --from PATH...` starts from files and folders of exports. Files whose
paths differ only in their digits (`sales_2026-01.csv`, `sales_2026-02.csv`;
`2026-01/orders.csv`, `2026-02/orders.csv`) are one family, and a family becomes
one source whose `paths` are globs (`sales_*.csv`): the exports of next month
match without a config change. A glob is only used when it matches exactly the
family's files; otherwise the digits become `?`, and failing that the files are
listed one by one. Files of other formats in the same family (one month exported
as Excel) get their own glob in the same source.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.paths import display_path

from .formats import FORMATS_BY_SUFFIX

DIGIT_RUN = re.compile(r"\d+(?:[-_. ]\d+)*")  # 2026-01, 2026.01.31, 7: one wildcard each
HIDDEN = re.compile(r"^[.~]|^~\$")  # .DS_Store, ~$sales.xlsx (Excel's lock files)


@dataclass(frozen=True)
class Family:
    """Export files of one kind: a proposed source name, its globs and its files (sorted)."""

    name: str
    patterns: tuple[str, ...]  # absolute globs (or file paths), one per format at least
    files: tuple[Path, ...]

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(sorted({FORMATS_BY_SUFFIX[p.suffix.lower()] for p in self.files}))


@dataclass(frozen=True)
class Export:
    """An export file and the folder it was found under (only the path below it is matched by shape)."""

    base: Path
    path: Path

    @property
    def shape(self) -> str:
        """The path with every run of digits below `base` (and the separators between them) as `*`."""
        below = self.path.relative_to(self.base).with_suffix("")
        return os.path.join(str(self.base), DIGIT_RUN.sub("*", str(below)))


def collect_exports(paths: list[Path]) -> tuple[list[Export], list[Path]]:
    """The export files under `paths` (files, or folders searched recursively) and the other files seen."""
    exports: dict[Path, Export] = {}
    skipped: set[Path] = set()
    for given in paths:
        given = Path(os.path.abspath(given))
        if not given.exists():
            raise InputError(f"{display_path(given)}: no such file or folder", "give files or folders of exports")
        if given.is_file():
            base, candidates = given.parent, [given]
        else:
            base = given
            candidates = sorted(p for p in given.rglob("*")
                                if p.is_file() and not any(HIDDEN.search(part) for part in p.relative_to(given).parts))
        for path in candidates:
            if path.suffix.lower() in FORMATS_BY_SUFFIX:
                exports.setdefault(path, Export(base, path))
            else:
                skipped.add(path)
    if not exports:
        raise InputError(
            f"no export files in {', '.join(display_path(p) for p in paths)}",
            f"Pulse reads {', '.join(sorted(FORMATS_BY_SUFFIX))} files",
        )
    return [exports[p] for p in sorted(exports)], sorted(skipped)


def group_families(exports: list[Export]) -> list[Family]:
    """Files grouped by their shape, each group with the narrowest globs that match exactly its files."""
    groups: dict[str, list[Export]] = {}
    for export in exports:
        groups.setdefault(export.shape, []).append(export)
    families: list[Family] = []
    taken: set[str] = set()
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda e: e.path)
        patterns: list[str] = []
        for suffix in sorted({e.path.suffix for e in members}):
            patterns.extend(_globs(key + suffix, [e for e in members if e.path.suffix == suffix]))
        paths = [e.path for e in members]
        families.append(Family(_unique(_name_for(key, paths), taken), tuple(patterns), tuple(paths)))
    return families


def _globs(pattern: str, members: list[Export]) -> list[str]:
    """`pattern` if it matches exactly `members`; else digit-per-`?` globs; else the files themselves."""
    wanted = {str(e.path) for e in members}
    if "*" not in pattern or any(set("[]*?") & set(str(e.path)) for e in members):
        return sorted(glob.escape(p) for p in wanted)  # globs would read the brackets as patterns
    if _matches(pattern) == wanted:
        return [pattern]
    narrow = sorted({os.path.join(str(e.base), re.sub(r"\d", "?", str(e.path.relative_to(e.base)))) for e in members})
    if set().union(*(_matches(n) for n in narrow)) == wanted:
        return narrow
    return sorted(wanted)


def _matches(pattern: str) -> set[str]:
    return {os.path.abspath(p) for p in glob.glob(pattern) if os.path.isfile(p)}


def _name_for(key: str, members: list[Path]) -> str:
    """A source name from the file names: `sales_*` -> sales; from the folder when the name is only digits."""
    name = _identifier(Path(key).name)
    if not name:
        name = _identifier(DIGIT_RUN.sub(" ", members[0].parent.name)) or "exports"
    return f"t_{name}" if name[0].isdigit() else name


def _identifier(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.replace("*", " ").lower()).strip("_")


def _unique(name: str, taken: set[str]) -> str:
    candidate, counter = name, 1
    while candidate in taken:
        counter += 1
        candidate = f"{name}_{counter}"
    taken.add(candidate)
    return candidate
