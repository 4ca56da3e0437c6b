"""Sentences whose numbers are written by the reader's locale, not by the stage that states them.

A stage that states a fact in words (a data-quality check, a KPI anomaly, an OKR note)
hands over its wording with `{name}` or `{name:kind}` placeholders and the numbers
beside it, never a sentence with the numbers already printed. Whoever shows it fills
the placeholders with its own `NumberWords`: the report with the project's locale
(pipeline/report/formatting.py, Babel), logs and error messages with `PLAIN`.

Kinds (without one, the kind follows the value's type: int -> count, float ->
decimal, date -> date, anything else -> text):

| kind      | the value is              | PLAIN writes  | en_DK writes |
| --------- | ------------------------- | ------------- | ------------ |
| `count`   | a whole number            | 32,858        | 32.858       |
| `share`   | a fraction (1.16 = 116 %) | 116%          | 116 %        |
| `decimal` | a number, one decimal     | 7.9           | 7,9          |
| `amount`  | a number, no decimals     | 967           | 967          |
| `date`    | a date                    | 2026-10-31    | 2026-10-31   |
| `value`   | a figure in its KPI's unit| 4 (as `amount`)| 444.068 kr. |
| `text`    | words, shown as they are  |               |              |

A placeholder whose name is not among the numbers stays as written, so text in a
wording can never be mistaken for a placeholder by accident. A missing value (None)
is written "n/a".
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Protocol

NOT_AVAILABLE = "n/a"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}")
KINDS = ("count", "share", "decimal", "amount", "date", "value", "text")


class NumberWords(Protocol):
    """How one reader writes the numbers of a sentence."""

    def count(self, value: int) -> str: ...
    def share(self, value: float) -> str: ...
    def decimal(self, value: float, digits: int) -> str: ...
    def day(self, value: date) -> str: ...
    def value(self, value: float) -> str: ...


class PlainWords:
    """English digits for logs, error messages and the manifest: 32,858 · 116% · 7.9 · 2026-10-31."""

    def count(self, value: int) -> str:
        return f"{value:,}"

    def share(self, value: float) -> str:
        return f"{value:.0%}"

    def decimal(self, value: float, digits: int) -> str:
        return f"{value:,.{digits}f}"

    def day(self, value: date) -> str:
        return value.isoformat()

    def value(self, value: float) -> str:
        return f"{value:,.12g}" if value != int(value) else f"{int(value):,}"


PLAIN = PlainWords()


def fill(wording: str, numbers: Mapping[str, object], words: NumberWords = PLAIN) -> str:
    """`wording` with every placeholder naming one of `numbers` written by `words`."""

    def written(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if name not in numbers:
            return match.group(0)
        return _write(numbers[name], kind, words)

    return _PLACEHOLDER.sub(written, wording)


def _write(value: object, kind: str | None, words: NumberWords) -> str:
    if value is None or isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return NOT_AVAILABLE
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown placeholder kind {kind!r} (one of {', '.join(KINDS)})")
    if kind is None:
        kind = ("text" if isinstance(value, bool) else "count" if isinstance(value, int)
                else "decimal" if isinstance(value, float) else "date" if isinstance(value, date) else "text")
    if kind == "text" or isinstance(value, (str, bool)):
        return str(value)
    if kind == "date":
        if isinstance(value, datetime):
            value = value.date()
        return words.day(value) if isinstance(value, date) else str(value)
    if not isinstance(value, (int, float)):
        return str(value)
    if kind == "count":
        return words.count(int(round(value)))
    if kind == "share":
        return words.share(float(value))
    if kind == "amount":
        return words.decimal(float(value), 0)
    if kind == "value":
        return words.value(float(value))
    return words.decimal(float(value), 1)
