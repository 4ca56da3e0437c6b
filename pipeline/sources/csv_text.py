"""The text of a CSV file: its encoding decoded, its lines split only as far as they are looked at.

`decode` finds the encoding: declared; UTF-16 by BOM or NUL bytes; UTF-8 when
the bytes decode as UTF-8; Windows-1252 when they hold no valid multi-byte
UTF-8 sequence at all (a Latin-1 / Windows export); and an error naming the
line and byte when they hold both valid UTF-8 text and bytes that are not
UTF-8 (one system's export edited by another): valid UTF-8 text such as
"Sjælland" is never re-read as Windows-1252 ("SjÃ¦lland"). Reading a header needs the first few lines; numbering
records needs them all only when a record spans several lines or blank lines
sit between records. A month of exports holds hundreds of thousands of lines,
so `Lines` finds the first ones with `str.find` and splits the whole text only
on demand.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from pipeline.core.errors import InputError
from pipeline.core.paths import display_path

ENCODING_HINT = "set options.encoding on the source in config/sources.yaml (e.g. utf-8, cp1252, utf-16)"
MIXED_HINT = ("fix the export so the whole file is UTF-8 (or all Windows-1252); options.encoding on the source in "
              "config/sources.yaml forces one encoding for every byte")

# a valid UTF-8 sequence of two to four bytes (no overlong forms, no surrogates, at most U+10FFFF)
UTF8_MULTIBYTE = re.compile(
    rb"[\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]|[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}"
    rb"|\xED[\x80-\x9F][\x80-\xBF]|\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}"
    rb"|\xF4[\x80-\x8F][\x80-\xBF]{2}"
)

BLANK_LINE = re.compile(r"\n\r?\n")


class Lines:
    """`text.split("\\n")`, computed lazily (indexing, len, iteration from a line)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._head: list[str] = []  # the first lines, found one by one
        self._offset = 0  # where the line after `_head` starts
        self._all: list[str] | None = None
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.text.count("\n") + 1
        return self._count

    def exists(self, index: int) -> bool:
        """Is there a line `index` (without counting every line for the first few)?"""
        if self._all is None and 0 <= index < 64:
            while len(self._head) <= index and self._offset <= len(self.text):
                self._next()
            return index < len(self._head)
        return 0 <= index < len(self)

    def __getitem__(self, index: int) -> str:
        if self._all is None and 0 <= index < 64 and self.exists(index):
            return self._head[index]
        return self.all()[index]

    def all(self) -> list[str]:
        if self._all is None:
            self._all = self.text.split("\n")
        return self._all

    def iter_from(self, start: int) -> Iterator[str]:
        """The lines from `start` on, without splitting the rest of the text up front."""
        if self._all is not None:
            yield from self._all[start:]
            return
        position = 0
        for _ in range(start):
            position = self.text.find("\n", position) + 1
            if position == 0:
                return
        while True:
            end = self.text.find("\n", position)
            if end == -1:
                yield self.text[position:]
                return
            yield self.text[position:end]
            position = end + 1

    def _next(self) -> None:
        end = self.text.find("\n", self._offset)
        if end == -1:
            self._head.append(self.text[self._offset:])
            self._offset = len(self.text) + 1
        else:
            self._head.append(self.text[self._offset:end])
            self._offset = end + 1

    def one_line_per_record(self, start: int, records: int) -> bool:
        """Do `records` records from line `start` fill every line up to the last with content, one each?

        True means no blank line between records and no newline inside a value,
        so record n is on line start + n.
        """
        text = self.text
        end = len(text)
        while end and text[end - 1] in "\r\n":
            end -= 1
        blank = BLANK_LINE.search(text, 0, end)
        if blank is not None:
            return False
        return text.count("\n", 0, end) + 1 - start == records


def decode(path: Path, data: bytes, declared: str | None) -> tuple[str, str]:
    """The file's text (BOM removed) and the codec it was decoded with."""
    if declared:
        codec = codecs.lookup(declared).name
        try:
            return data.decode(codec).removeprefix("\ufeff"), codec
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{display_path(path)}:{_line_at(data, exc.start)}: byte 0x{data[exc.start]:02X} "
                f"is not valid {declared} (the source declares encoding: {declared})",
                "fix options.encoding, or remove it to detect UTF-8 / Windows-1252",
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").removeprefix("\ufeff"), "utf-16"
        except UnicodeDecodeError:
            pass
    head = data[:4096]
    if len(head) >= 4 and head.count(0) > len(head) // 4:  # UTF-16 without a BOM: every other byte is NUL
        codec = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start
    valid = UTF8_MULTIBYTE.search(data)
    if valid is not None:  # UTF-8 text and bytes that are not: neither reading is right for every byte
        start = data.rfind(b"\n", 0, valid.start()) + 1
        end = data.find(b"\n", valid.end())
        example = shown(data[start:end if end != -1 else len(data)].decode("utf-8", "replace").strip(), 60)
        raise InputError(
            f"{display_path(path)}:{_line_at(data, bad)}: byte 0x{data[bad]:02X} at offset {bad} is not UTF-8, "
            f"but the file holds UTF-8 text elsewhere (line {_line_at(data, valid.start())}: {example}): "
            "a file of mixed encodings", MIXED_HINT,
        )
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{display_path(path)}:{_line_at(data, exc.start)}: neither UTF-8 nor Windows-1252 "
            f"(byte 0x{data[exc.start]:02X})", ENCODING_HINT,
        ) from None


def shown(value: object, limit: int = 80) -> str:
    """A value for a one-line message: newlines as \\n, other control characters escaped, long text cut."""
    text = "".join(
        "\\n" if ch == "\n" else "" if ch == "\r" else
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in ("Cc", "Zl", "Zp") and ch != "\t"
        else ch
        for ch in str(value)
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line_at(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1
