"""Read YAML and remember the line of every key, so errors can name it.

`load_yaml(path)` returns a `YamlDoc`: the plain data plus a map from a dotted
key path (`kpis.revenue.unit`) to its 1-based line number. While composing it
also notes what plain YAML would accept silently:

- a key repeated in one mapping (YAML keeps the last one; a KPI defined twice
  would vanish): each repeat is a `ConfigError` in `duplicates`, naming both lines;
- an unquoted `on`/`off`/`yes`/`no` (YAML 1.1 reads them as true/false): the
  word is kept in `bool_words`, so a message can say what was written.

Mapping keys are always read as the text written (`2026:`, `NO:` and `off:` are
the names "2026", "NO" and "off"): every key in Pulse's config is a name. Merge
keys (`<<: *defaults`) fill in what a mapping does not set itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.core.errors import ConfigError
from pipeline.core.paths import display_path

_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class YamlDoc:
    """Parsed YAML data and where each key sits in the file."""

    path: Path
    data: Any
    lines: dict[str, int] = field(default_factory=dict)
    duplicates: tuple[ConfigError, ...] = ()  # keys repeated in one mapping, one error per repeat
    bool_words: dict[str, str] = field(default_factory=dict)  # dotted key -> 'off', 'yes', ... read as a boolean

    def line_of(self, dotted: str) -> int | None:
        """Line of `dotted` or of its closest parent key that has one."""
        key = dotted
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key.rpartition(".")[0]
        return None

    def where(self, dotted: str) -> str:
        """`file:line` (or just `file`) for a key, relative to the cwd if possible."""
        line = self.line_of(dotted)
        shown = display_path(self.path)
        return f"{shown}:{line}" if line else shown


def load_yaml(path: Path) -> YamlDoc:
    """Parse `path`; a missing file or a syntax error is a `ConfigError`."""
    if not path.is_file():
        raise ConfigError(f"{display_path(path)}: config file not found", "create it or run 'pulse init DIR'")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{display_path(path)}{line}: invalid YAML: {exc.problem}",
            "check indentation and quoting on that line",
        ) from None
    composer = _Composer(path)
    try:
        data = composer.to_python(node, "") if node is not None else {}
    except yaml.MarkedYAMLError as exc:  # a tag no safe constructor knows (`!!python/object`, ...)
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{display_path(path)}{line}: invalid YAML: {exc.problem or exc.context}",
                          "write plain values; tags such as !!python/... are not allowed") from None
    return YamlDoc(path=path, data=data, lines=composer.lines, duplicates=tuple(composer.duplicates),
                   bool_words=composer.bool_words)


class _Composer:
    """YAML nodes -> plain Python values, noting lines, repeated keys and boolean words."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[str, int] = {}
        self.duplicates: list[ConfigError] = []
        self.bool_words: dict[str, str] = {}

    def to_python(self, node: yaml.Node, prefix: str) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, prefix)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                dotted = f"{prefix}.{index}"
                self.lines[dotted] = item.start_mark.line + 1
                items.append(self.to_python(item, dotted))
            return items
        if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
            self.bool_words[prefix] = node.value
        return yaml.SafeLoader("").construct_object(node)

    def _mapping(self, node: yaml.MappingNode, prefix: str) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}  # `<<: *anchor` entries: used where the mapping has no key of its own
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                line = key_node.start_mark.line + 1
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    value = _Composer(self.path).to_python(source, "")  # its own lines were noted where it stands
                    if not isinstance(value, dict):
                        raise ConfigError(f"{display_path(self.path)}:{line}: '<<' merges a mapping, not "
                                          f"{type(value).__name__}", "write <<: *name, naming a mapping's anchor")
                    for key, item in value.items():
                        merged.setdefault(key, (item, line))
                continue
            key = _key(key_node)
            dotted = f"{prefix}.{key}" if prefix else str(key)
            line = key_node.start_mark.line + 1
            if key in result:
                self.duplicates.append(ConfigError(
                    f"{display_path(self.path)}:{line}: '{dotted}' is given twice in one mapping (first at line "
                    f"{self.lines[dotted]}); YAML would silently keep only this last one",
                    "remove one of them, or give it a name of its own",
                ))
            else:
                self.lines[dotted] = line
            result[key] = self.to_python(value_node, dotted)
        for key, (item, line) in merged.items():
            if key not in result:
                result[key] = item
                self.lines[f"{prefix}.{key}" if prefix else str(key)] = line  # errors point at the '<<' line
        return result


def _key(node: yaml.Node) -> Any:
    """A mapping key: the text written for a plain scalar (every config key is a name), else its value."""
    if isinstance(node, yaml.ScalarNode):
        return node.value
    return yaml.SafeLoader("").construct_object(node)
