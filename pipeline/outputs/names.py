"""File names of a report's outputs.

A burst report (`burst_by`) writes one HTML and one PDF per segment, named
`<report>-<part>.html`, where the part comes from the segment's name (the
segment value in the data, which can be anything). The part is

- readable where possible: transliterated to ASCII, lower case, words joined by
  `-` ('Sjælland' -> `sjaelland`, 'Zürich' -> `zurich`, 'القاهرة' -> `lqhrh`);
- unique within the report: segments whose parts would be the same ('Sjælland'
  and 'Sjaelland', 'North' and 'north'), or a name with nothing to transliterate,
  get a short hash of the exact name (`sjaelland-3f9a1c2e`);
- bounded: at most `MAX_PART` characters (a longer name is cut, and hashed).

So two segments never share a file, and a file name is never too long for the
file system. Which files belong to which segment is recorded in the manifest
(`segments.<name>.files`), and delivery reads it from there.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter

from anyascii import anyascii

MAX_PART = 60  # characters of the segment's part of a file name, before its hash
HASH_LENGTH = 8  # hex digits of the hash that keeps parts apart (more if they still collide)
_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "ae", "Ø": "oe", "Å": "aa", "ß": "ss"})


def slug(text: str) -> str:
    """A file-name-safe, readable form of a name: 'Sjælland' -> 'sjaelland'; '' when nothing is left."""
    folded = anyascii(unicodedata.normalize("NFC", text).translate(_DANISH))
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def segment_stems(report: str, segments: list[str]) -> dict[str, str]:
    """Each segment's file stem (`<report>-<part>`), unique among `segments` and bounded in length."""
    parts: dict[str, str] = {}
    needs_hash: set[str] = set()
    for segment in segments:
        part = slug(segment)
        if len(part) > MAX_PART:
            part = part[:MAX_PART].rstrip("-")
            needs_hash.add(segment)
        if not part:
            part = "segment"
            needs_hash.add(segment)
        parts[segment] = part
    shared = Counter(parts.values())
    needs_hash.update(s for s in segments if shared[parts[s]] > 1)
    length = HASH_LENGTH
    while True:
        stems = {s: f"{report}-{parts[s]}" + (f"-{_digest(s)[:length]}" if s in needs_hash else "") for s in segments}
        taken = Counter(stems.values())
        clashing = {s for s in segments if taken[stems[s]] > 1}
        if not clashing:
            return stems
        if length >= 64:  # the same text twice: cannot happen for distinct segments
            raise ValueError(f"segments {sorted(clashing)} cannot be told apart")
        needs_hash.update(clashing)
        length *= 2


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
