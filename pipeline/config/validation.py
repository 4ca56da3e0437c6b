"""Config files checked against their models: every error with file:line, the dotted key and a hint.

Unknown keys and unknown names get a did-you-mean suggestion (the closest key
the model accepts, or the closest configured name). Keys repeated in one
mapping are errors too (see `yaml_doc`), and a value YAML read as a boolean
from an unquoted word (`off`, `no`) is named as written.

`salvage` gives the part of a file that is valid (the file with every key
that has an error removed), so `pulse validate` can go on checking what the
rest of the project says.
"""

from __future__ import annotations

import copy
import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.core.errors import ConfigError

from .yaml_doc import YamlDoc

FILE_MODELS: dict[str, type[BaseModel]] = {}  # config file name -> its model (for did-you-mean on keys)

# Where the docs describe each config file (its errors' hints point there), and the parts of a file
# with a section of their own: (file, the key below the user's own name) -> section.
FILE_SECTIONS = {
    "pulse.yaml": "docs/configuration.md 'Project settings'",
    "sources.yaml": "docs/configuration.md 'Sources'",
    "kpis.yaml": "docs/configuration.md 'KPIs'",
    "reports.yaml": "docs/configuration.md 'Reports'",
    "okrs.yaml": "docs/configuration.md 'OKRs'",
    "delivery.yaml": "docs/email-and-scheduling.md 'delivery.yaml'",
}
KEY_SECTIONS = {
    ("sources.yaml", "options"): "docs/configuration.md 'Reader options'",
    ("sources.yaml", "columns"): "docs/configuration.md 'Column contract and primary key'",
    ("sources.yaml", "checks"): "docs/configuration.md 'Data-quality gate'",
    ("reports.yaml", "email"): "docs/email-and-scheduling.md 'The email block of a report'",
    ("reports.yaml", "schedule"): "docs/email-and-scheduling.md 'Scheduling'",
}


def docs_section(file_name: str, loc: list[str]) -> str:
    """The docs section (file and heading) that describes the key at `loc` of a config file."""
    below_name = loc[2] if len(loc) > 2 else ""  # sources.<name>.options..., reports.<name>.email...
    return KEY_SECTIONS.get((file_name, below_name)) or FILE_SECTIONS.get(file_name, "docs/configuration.md 'Configuration'")


def did_you_mean(word: str, choices: Any) -> str:
    """A hint naming the closest choice, or listing what exists."""
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "known: " + ", ".join(options) if options else "none are configured"


def parse_doc(doc: YamlDoc, model: type[BaseModel], problems: list[ConfigError]) -> Any:
    """The file as its model, or None; every problem (repeated keys first) is added to `problems`."""
    problems.extend(doc.duplicates)
    try:
        parsed = model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        problems.extend(_config_error(doc, error) for error in exc.errors())
        return None
    return None if doc.duplicates else parsed


def salvage(doc: YamlDoc, model: type[BaseModel]) -> Any:
    """The valid part of a file: its model after removing each key that has an error (an invalid value
    falls back to its default, an entry missing a required key goes); None when nothing valid is left.

    Only for checking the rest of a project (`pulse validate`); a run never uses a salvaged config.
    """
    data = copy.deepcopy(doc.data if doc.data is not None else {})
    for _attempt in range(100):  # each round removes at least one key
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            paths = {_existing_part(data, error["loc"]) for error in exc.errors()}
        if () in paths:
            return None
        for path in sorted(paths, key=lambda p: [(1, str(x)) if isinstance(x, str) else (0, f"{x:09d}") for x in p],
                           reverse=True):  # later list items first, so earlier indexes stay right
            _remove(data, path)
    return None


def _existing_part(data: Any, loc: tuple) -> tuple:
    """The longest start of `loc` that exists in `data` (a missing key's parent, a union's own key)."""
    found: list[Any] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            break
        found.append(part)
    return tuple(found)


def _remove(data: Any, path: tuple) -> None:
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif isinstance(parent, list) and path[-1] < len(parent):
        parent.pop(path[-1])


def _config_error(doc: YamlDoc, error: Any) -> ConfigError:
    loc = [str(part) for part in error["loc"]]
    dotted = ".".join(loc)
    where = doc.where(dotted)
    if error["type"] == "extra_forbidden":
        parent = loc[:-1]
        allowed = _allowed_keys(doc, parent)
        return ConfigError(f"{where}: unknown key '{dotted}'", did_you_mean(loc[-1], allowed))
    if error["type"] == "missing":
        return ConfigError(f"{where}: missing key '{dotted}'", f"add it; see {docs_section(doc.path.name, loc)}")
    message = error["msg"].removeprefix("Value error, ")
    word = _bool_word(doc, loc, error.get("input"))
    if word is not None:
        return ConfigError(
            f"{where}: {dotted}: YAML reads the unquoted word '{word}' as {str(error['input']).lower()}: {message}",
            f"quote it ('{word}') to mean the word",
        )
    own_hint = getattr((error.get("ctx") or {}).get("error"), "hint", None)  # a validator's `Invalid`
    return ConfigError(f"{where}: {dotted}: {message}", own_hint or f"see {docs_section(doc.path.name, loc)} for the allowed values")


def _bool_word(doc: YamlDoc, loc: list[str], value: Any) -> str | None:
    """The word written (`off`, `yes`) when YAML turned it into the boolean `value`."""
    if not isinstance(value, bool):
        return None
    for end in range(len(loc), 0, -1):  # a union's error adds the member's name to the key
        word = doc.bool_words.get(".".join(loc[:end]))
        if word is not None:
            return word
    return None


def _allowed_keys(doc: YamlDoc, parent: list[str]) -> list[str]:
    """The keys the model at `parent` accepts (for did-you-mean suggestions)."""
    model: Any = FILE_MODELS.get(doc.path.name)
    parts = list(parent)
    while parts and model is not None:
        part = parts.pop(0)
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        if getattr(annotation, "__origin__", None) is dict:
            if not parts:  # the user's own names (source, KPI, report ids)
                return []
            parts.pop(0)
            annotation = annotation.__args__[1]
        model = _optional_model(annotation)
    return [f.alias or name for name, f in getattr(model, "model_fields", {}).items()]


def _optional_model(annotation: Any) -> Any:
    """`Model | None` -> `Model` (so keys of optional blocks get did-you-mean hints too)."""
    members = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    if len(members) == 1 and hasattr(members[0], "model_fields"):
        return members[0]
    return annotation
