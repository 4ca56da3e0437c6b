"""Read YAML and remember the line of every key, so errors can name it.

`load_yaml(path)` returns a `YamlDoc`: the plain data plus a map from a dotted
key path (`kpis.revenue.unit`) to its 1-based line number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.core.errors import ConfigError
from pipeline.core.paths import display_path


@dataclass(frozen=True)
class YamlDoc:
    """Parsed YAML data and where each key sits in the file."""

    path: Path
    data: Any
    lines: dict[str, int] = field(default_factory=dict)

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
    lines: dict[str, int] = {}
    data = _to_python(node, "", lines) if node is not None else {}
    return YamlDoc(path=path, data=data, lines=lines)


def _to_python(node: yaml.Node, prefix: str, lines: dict[str, int]) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(  # scalar keys only; construct with the safe rules
                ""
            ).construct_object(key_node)
            dotted = f"{prefix}.{key}" if prefix else str(key)
            lines[dotted] = key_node.start_mark.line + 1
            result[key] = _to_python(value_node, dotted, lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            dotted = f"{prefix}.{index}"
            lines[dotted] = item.start_mark.line + 1
            items.append(_to_python(item, dotted, lines))
        return items
    return yaml.SafeLoader("").construct_object(node)
