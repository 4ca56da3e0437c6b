"""File names of a report's outputs."""

from __future__ import annotations

import re
import unicodedata


def slug(text: str) -> str:
    """A file-name-safe form of a segment name: 'Sjælland' -> 'sjaelland'."""
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "ae", "Ø": "oe", "Å": "aa", "ß": "ss"})
    folded = unicodedata.normalize("NFKD", text.translate(table)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or "segment"
