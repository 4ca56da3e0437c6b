"""The encoding of a CSV export: valid UTF-8 text is never re-read as Windows-1252.

A file that decodes as UTF-8 is UTF-8; one with high bytes but no valid
multi-byte UTF-8 sequence is Windows-1252; one with both (UTF-8 text and a
stray Latin-1 byte) is an error naming the line, the byte and its offset,
whether the stray byte is in the head of the file or far beyond it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.messy import error_of, load, make


@pytest.fixture(autouse=True)
def _in_project(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # errors name files relative to the working folder

HEADER = "id,amount,name,day\n"


def _rows(names: list[str]) -> str:
    return "".join(f"{i},1.5,{n},2026-10-{i:02d}\n" for i, n in enumerate(names, 1))


def test_utf8_is_utf8(tmp_path: Path) -> None:
    make(tmp_path, {"data/a.csv": (HEADER + _rows(["Sjælland", "Køge"])).encode("utf-8")})
    _, rows, _ = load(tmp_path, "name")
    assert [r[0] for r in rows] == ["Køge", "Sjælland"]


def test_a_windows_1252_file_without_utf8_sequences_is_windows_1252(tmp_path: Path) -> None:
    make(tmp_path, {"data/a.csv": (HEADER + _rows(["Sjælland", "Café €5"])).encode("cp1252")})
    _, rows, _ = load(tmp_path, "name")
    assert [r[0] for r in rows] == ["Café €5", "Sjælland"]


def test_one_latin1_byte_in_a_utf8_file_is_an_error_naming_line_byte_and_offset(tmp_path: Path) -> None:
    data = (HEADER + _rows(["Sjælland", "Roskilde"])).encode("utf-8") + "3,1.5,Køge,2026-10-03\n".encode("cp1252")
    make(tmp_path, {"data/a.csv": data})
    error = error_of(tmp_path)
    offset = data.index(b"\xf8")
    assert error.message == (f"data/a.csv:4: byte 0xF8 at offset {offset} is not UTF-8, but the file holds UTF-8 "
                             "text elsewhere (line 2: 1,1.5,Sjælland,2026-10-01): a file of mixed encodings")
    assert "options.encoding" in (error.hint or "") and "fix the export" in (error.hint or "")


def test_a_stray_byte_far_beyond_the_head_of_a_plain_file_is_found_too(tmp_path: Path) -> None:
    """Plain files are read by DuckDB straight from disk; Pulse decodes only their head. A Latin-1 byte
    half a megabyte in must still stop the load, not turn the file into Windows-1252."""
    names = ["Sjælland"] + [f"kunde{i}" for i in range(2, 20001)]
    data = (HEADER + _rows(names)).encode("utf-8")
    data += "20001,1.5,Næstved,2026-10-01\n".encode("cp1252")
    assert len(data) > 512 * 1024
    make(tmp_path, {"data/a.csv": data})
    error = error_of(tmp_path)
    offset = data.index(b"N\xe6stved") + 1
    assert error.message.startswith(f"data/a.csv:20002: byte 0xE6 at offset {offset} is not UTF-8")
    assert "line 2: 1,1.5,Sjælland" in error.message


def test_a_declared_encoding_reads_every_byte_that_way(tmp_path: Path) -> None:
    data = (HEADER + _rows(["Roskilde"])).encode("utf-8") + "2,1.5,Køge,2026-10-02\n".encode("cp1252")
    make(tmp_path, {"data/a.csv": data}, options={"encoding": "cp1252"})
    _, rows, _ = load(tmp_path, "name")
    assert [r[0] for r in rows] == ["Køge", "Roskilde"]
