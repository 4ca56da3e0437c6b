"""Email addresses in config: checked when read, reduced to the bare address for the ledger."""

from __future__ import annotations

import re
from email.utils import parseaddr

_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$|^[^@\s<>\"',;]+@localhost$")


def bare_address(text: str) -> str:
    """`Name <a@b.dk>` -> `a@b.dk` (lower-cased: the ledger's recipient key)."""
    return parseaddr(text)[1].strip().lower()


def check_address(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValueError("an address must be on one line")
    address = parseaddr(text)[1]
    if not address or not _ADDRESS.match(address):
        raise ValueError(f"'{text}' is not an email address (write a@example.com or 'Name <a@example.com>')")
    return text
