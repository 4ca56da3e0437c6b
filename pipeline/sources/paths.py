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
from typing import TYPE_CHECKING

from pipeline.core.errors import ConfigError, InputError
from pipeline.core.paths import GLOB_CHARS, OUTSIDE_HINT, display_path, inside, pattern_problem
from pipeline.core.sandbox import SandboxRules, folder_rule

if TYPE_CHECKING:
    from pipeline.config import ProjectConfig


def expand(root: Path, name: str, patterns: list[str], allow_outside: bool) -> list[Path]:
    """The files matching a source's globs, sorted by path, each once; the first problem is raised."""
    files, problems = match_paths(root, name, patterns, allow_outside)
    if problems:
        raise problems[0]
    return files


def match_paths(root: Path, name: str, patterns: list[str],
                allow_outside: bool) -> tuple[list[Path], list[ConfigError | InputError]]:
    """The files matching a source's globs, and every problem of its patterns.

    Each pattern must match at least one file: a pattern that matches nothing
    (a typo such as `*.xslx`) would silently leave its exports out of every
    report, so it is an error naming its line in config/sources.yaml.
    """
    root_abs = Path(os.path.normpath(os.path.abspath(root)))
    root_real = Path(os.path.realpath(root_abs))
    found: dict[Path, Path] = {}  # real file -> first lexical path
    problems: list[ConfigError | InputError] = []
    for index, pattern in enumerate(patterns):
        key = f"sources.{name}.paths.{index}" if len(patterns) > 1 else f"sources.{name}.paths"
        if not allow_outside:
            problem = pattern_problem(root_abs, pattern)
            if problem:
                problems.append(_paths_error(root, key, problem))
                continue
        full = pattern if Path(pattern).is_absolute() else str(root_abs / pattern)
        matched = glob.glob(full, recursive=True)
        broken = [p for p in matched if os.path.islink(p) and not os.path.exists(p)]
        problems.extend(InputError(f"{_shown(link)}: symbolic link to {os.readlink(link)} is broken "
                                   f"(source '{name}')", "fix or remove the link") for link in broken)
        matches = sorted(Path(os.path.normpath(p)) for p in matched if os.path.isfile(p))
        if not matches and not broken:
            problems.append(_no_match(root, key, pattern, Path(full).parent))
        for match in matches:
            real = Path(os.path.realpath(match))
            if not allow_outside:
                if not inside(match, root_abs):
                    problems.append(_paths_error(root, key, f"'{pattern}' matches {match}, outside the project folder"))
                    break
                if not inside(real, root_real):
                    link = _outside_link(match, root_real)
                    problems.append(InputError(
                        f"{_shown(link)}: symbolic link to {os.path.realpath(link)} points outside the "
                        f"project folder (source '{name}')",
                        OUTSIDE_HINT.replace("keep the exports", "copy the file"),
                    ))
                    continue
            found.setdefault(real, match)
    return sorted(found.values()), problems


def _no_match(root: Path, key: str, pattern: str, folder: Path) -> InputError:
    where = _where(root, key)
    if not GLOB_CHARS & set(str(folder)) and not folder.exists():
        return InputError(f"{where}: {key}: export folder {display_path(folder)} does not exist",
                          "create it and put the exports there, or fix the pattern in config/sources.yaml")
    return InputError(
        f"{where}: {key}: '{pattern}' matches no file",
        "fix the pattern (a typo in the name or extension?), or remove it if those exports stopped; "
        "every pattern of a source must match at least one file",
    )


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


def _where(root: Path, key: str) -> str:
    """`config/sources.yaml:LINE` of a key (the file alone when it cannot be read)."""
    try:
        from pipeline.config.yaml_doc import load_yaml  # the YAML parser only for a problem's line

        return load_yaml(root / "config" / "sources.yaml").where(key)
    except ConfigError:
        return display_path(root / "config" / "sources.yaml")


def _paths_error(root: Path, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{_where(root, key)}: {key}: {problem}", OUTSIDE_HINT)


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


def project_relative(root: Path, path: Path) -> str:
    """The file's path as matched (a symlink keeps its own name), relative to the project."""
    lexical = os.path.normpath(os.path.abspath(path))
    for base in (os.path.normpath(os.path.abspath(root)), os.path.realpath(root)):
        try:
            return Path(lexical).relative_to(base).as_posix()
        except ValueError:
            continue
    return lexical
