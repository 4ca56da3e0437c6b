"""A real SMTP server on loopback (aiosmtpd) for the delivery tests.

`smtp_server(handler, **options)` starts aiosmtpd on 127.0.0.1 with a free
port; `Handler` records every accepted transaction and can be told to refuse
recipients (5xx/4xx at RCPT) or drop the connection there, answer the end of the
message data with a reply once (e.g. 451) or drop the connection once, or store
the message and answer only after `data_delay` seconds (a slow end-of-data
reply) or never (`hold`: until the test releases it). `data_stored` is set each
time a message is stored. `write_delivery` writes a project's
config/delivery.yaml pointing at such a server.

`python -m support.smtp PORT FOLDER` runs a server in a process of its own that
writes each message to FOLDER and then never answers: the test kills it between
the message data and the reply.
"""

from __future__ import annotations

import asyncio
import email
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import yaml
from aiosmtpd.controller import Controller

LISTS = {
    "management": {"to": ["Mette Holm <ceo@nordlys.example>", "cfo@nordlys.example"],
                   "cc": ["controlling@nordlys.example"], "bcc": ["archive@nordlys.example"]},
    "sales_leads": {"to": ["sales@nordlys.example"]},
    "sales_east": {"to": ["east@nordlys.example"]},
    "sales_west": {"to": ["west@nordlys.example"]},
}
MANAGEMENT = ["ceo@nordlys.example", "cfo@nordlys.example", "controlling@nordlys.example", "archive@nordlys.example"]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    # address -> reply, e.g. "550 5.1.1 no such user", or "drop" (close the connection at RCPT)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)  # one per DATA, first come: a reply, or "drop"
    data_delay: float = 0.0  # store the message, then wait this long before answering 250
    hold: bool = False  # store the message, then answer only when `release` is set
    data_stored: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rcpt_replies.get(address)
        if reply == "drop":
            server.transport.close()
            return "421 4.3.0 closing"
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if reply == "drop":
                server.transport.close()
                return "421 4.3.0 closing"
            return reply
        self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content))
        self.data_stored.set()
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        while self.hold and not self.release.is_set():
            await asyncio.sleep(0.05)
        return "250 2.0.0 accepted"

    def recipients(self) -> list[str]:
        """Every envelope recipient of every accepted transaction."""
        return [r for message in self.received for r in message.rcpt_tos]


@dataclass(frozen=True)
class Server:
    handler: Handler
    port: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(handler: Handler | None = None, port: int | None = None, **options) -> Iterator[Server]:
    handler = handler or Handler()
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield Server(handler, port)
    finally:
        controller.stop()


def write_delivery(project: Path, port: int, *, smtp: dict | None = None, outbox: bool = False,
                   attempts: int = 3, lists: dict | None = None) -> None:
    config = {
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5, **(smtp or {})},
        "from": "Nordlys reports <reports@nordlys.example>",
        "reply_to": "Controlling <controlling@nordlys.example>",
        "outbox": outbox,
        "retry": {"attempts": attempts, "base_delay": 0.01},
        "recipient_lists": lists or LISTS,
    }
    (project / "config" / "delivery.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")


class _StoreThenHang:
    """The separate-process server: each message is written to a folder, then no reply ever comes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        count = len(list(self.folder.glob("*.eml")))
        target = self.folder / f"{count + 1:03d}.eml"
        target.with_suffix(".tmp").write_bytes(envelope.content)
        target.with_suffix(".tmp").rename(target)
        while True:
            await asyncio.sleep(3600)


def main(port: int, folder: Path) -> None:
    controller = Controller(_StoreThenHang(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("listening", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
