"""Where a source's export files are: its globs expanded, kept inside the project.

A source's `paths` are globs relative to the project folder. Unless the
project sets `allow_outside_paths: true` (config/pulse.yaml), every pattern and
every file it matches must stay inside the project folder: an absolute path or
a `..` that leaves it is a config error naming `sources.<name>.paths`, and a
matched file that is a symbolic link (or lies under one) resolving outside the
folder is an input error naming the link. A file reachable by several paths
(e.g. through a symlinked folder) is loaded once, under its first path.

`sandbox_rules` turns the same paths into what SQL may read in the query
sandbox: the folders the globs start from, and queries/.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path

from pipeline.config import ProjectConfig
from pipeline.config.yaml_doc import load_yaml
from pipeline.core.errors import ConfigError, InputError
from pipeline.core.paths import GLOB_CHARS, OUTSIDE_HINT, display_path, inside, pattern_problem
from pipeline.core.sandbox import SandboxRules, folder_rule


def expand(root: Path, name: str, patterns: list[str], allow_outside: bool) -> list[Path]:
    """The files matching a source's globs, sorted by path, each once."""
    root_abs = Path(os.path.normpath(os.path.abspath(root)))
    root_real = Path(os.path.realpath(root_abs))
    found: dict[Path, Path] = {}  # real file -> first lexical path
    for pattern in patterns:
        if not allow_outside:
            problem = pattern_problem(root_abs, pattern)
            if problem:
                raise _paths_error(root, name, problem)
        full = pattern if Path(pattern).is_absolute() else str(root_abs / pattern)
        matched = glob.glob(full, recursive=True)
        for broken in (p for p in matched if os.path.islink(p) and not os.path.exists(p)):
            raise InputError(f"{_shown(broken)}: symbolic link to {os.readlink(broken)} is broken "
                             f"(source '{name}')", "fix or remove the link")
        matches = sorted(Path(os.path.normpath(p)) for p in matched if os.path.isfile(p))
        if not matches:
            folder = Path(full).parent
            if not GLOB_CHARS & set(str(folder)) and not folder.exists():
                raise InputError(
                    f"sources.{name}: export folder {display_path(folder)} does not exist",
                    "create it and put the exports there, or fix 'paths' in config/sources.yaml",
                )
        for match in matches:
            real = Path(os.path.realpath(match))
            if not allow_outside:
                if not inside(match, root_abs):
                    raise _paths_error(root, name, f"'{pattern}' matches {match}, outside the project folder")
                if not inside(real, root_real):
                    link = _outside_link(match, root_real)
                    raise InputError(
                        f"{_shown(link)}: symbolic link to {os.path.realpath(link)} points outside the "
                        f"project folder (source '{name}')",
                        OUTSIDE_HINT.replace("keep the exports", "copy the file"),
                    )
            found.setdefault(real, match)
    if not found:
        raise InputError(
            f"sources.{name}: no export files match {', '.join(patterns)}",
            "check the file names and 'paths' in config/sources.yaml",
        )
    return sorted(found.values())


def _shown(path: str | Path) -> str:
    """A link's own path (not its target's), relative to the cwd when inside it."""
    lexical = os.path.normpath(os.path.abspath(path))
    cwd = os.path.abspath(os.getcwd())
    return os.path.relpath(lexical, cwd) if inside(lexical, cwd) else lexical


def _outside_link(path: Path, root_real: Path) -> Path:
    """The first component of `path` that is a symlink leading outside the project."""
    current = Path(path.anchor)
    for part in path.parts[1:]:
        current = current / part
        if current.is_symlink() and not inside(os.path.realpath(current), root_real):
            return current
    return path


def _paths_error(root: Path, name: str, problem: str) -> ConfigError:
    key = f"sources.{name}.paths"
    try:
        where = load_yaml(root / "config" / "sources.yaml").where(key)
    except ConfigError:
        where = display_path(root / "config" / "sources.yaml")
    return ConfigError(f"{where}: {key}: {problem}", OUTSIDE_HINT)


def sandbox_rules(config: ProjectConfig) -> SandboxRules:
    """What SQL may read: the folders each source's paths start from (a path without wildcards: that
    file alone) and queries/; any local file with `allow_outside_paths`, and the network with
    `allow_network` (see `pipeline.core.sandbox`)."""
    root = Path(os.path.normpath(os.path.abspath(config.root)))
    folders: set[str] = set(folder_rule(config.queries_dir))
    files: set[str] = set()
    for source in config.sources.values():
        for pattern in source.paths:
            full = Path(pattern) if Path(pattern).is_absolute() else root / pattern
            parts = Path(os.path.normpath(full)).parts
            static = list(_until_wildcard(parts))
            if len(static) == len(parts):  # one file
                files.update({os.path.normpath(full), os.path.realpath(full)})
            else:
                folders.update(folder_rule(Path(*static)))
    settings = config.project
    return SandboxRules(read_dirs=tuple(sorted(folders)), read_files=tuple(sorted(files)),
                        outside=settings.allow_outside_paths, network=settings.allow_network)


def _until_wildcard(parts: tuple[str, ...]) -> Iterator[str]:
    for part in parts:
        if GLOB_CHARS & set(part):
            return
        yield part
