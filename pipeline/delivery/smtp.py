"""SMTP transport: connect (STARTTLS, implicit TLS or plain), authenticate, send.

One SMTP transaction per recipient (MAIL FROM, one RCPT TO, DATA), so every
recipient's outcome is known exactly. Failures are classified:

- transient: connection refused, dropped or timed out, 4xx replies -> retried
  with exponential backoff (`retry.base_delay` * 2^(n-1)), up to
  `retry.attempts` attempts;
- permanent: 5xx replies for this message or recipient -> not retried;
- fatal: the server cannot be used at all (TLS certificate not trusted,
  authentication failed, the sender refused) -> no recipient is tried further;
- uncertain: the whole message data was sent but the reply to its end never
  came (timeout, dropped connection). The server may have accepted and queued
  it, so it is not retried: the delivery is recorded as uncertain and the
  operator decides. The reply is awaited up to `smtp.data_timeout` (RFC 5321
  allows the server 10 minutes), not the shorter command `timeout`.

Just before the message data goes out, `send` calls `on_data` (the caller
records the attempt as in flight and commits it), so a process killed while
waiting for the reply leaves a record that the next run resolves as uncertain.

smtplib and ssl errors are turned into one-line texts here; the password is
passed to `login` only and never appears in a message.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.config.delivery import RetrySettings, SmtpSettings

Kind = Literal["transient", "permanent", "fatal", "uncertain"]


@dataclass(frozen=True)
class SendFailure:
    kind: Kind
    text: str  # one line, e.g. "550 5.1.1 no such user"
    recipient_only: bool = False  # the server refused this recipient (RCPT TO); others may still go through


class SmtpFailure(Exception):
    """A classified SMTP failure."""

    def __init__(self, failure: SendFailure) -> None:
        super().__init__(failure.text)
        self.failure = failure


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def _by_code(code: int, text: str, permanent: Kind = "permanent") -> SendFailure:
    return SendFailure("transient" if 400 <= code < 500 else permanent, text)


def classify(exc: BaseException, where: str) -> SendFailure:
    """An smtplib / socket / ssl exception as a transient, permanent or fatal failure."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendFailure("fatal", f"TLS certificate of {where} not trusted: {exc.verify_message} "
                                    f"(set smtp.ca_file for a private CA)")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SendFailure("fatal", f"authentication at {where} failed: {_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendFailure("fatal", f"{where}: {exc} (check smtp.security)")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()))
        failure = _by_code(code, f"recipient refused: {_reply(code, message)}")
        return SendFailure(failure.kind, failure.text, recipient_only=True)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_code(exc.smtp_code, f"sender {exc.sender} refused: {_reply(exc.smtp_code, exc.smtp_error)}", "fatal")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendFailure("transient", f"{where} closed the connection ({exc or 'unexpectedly'})")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, ConnectionRefusedError):
        return SendFailure("transient", f"connection to {where} refused")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return SendFailure("transient", f"{where} timed out")
    if isinstance(exc, ssl.SSLError):
        return SendFailure("fatal", f"TLS with {where} failed: {exc.reason or exc} (check smtp.security and port)")
    if isinstance(exc, socket.gaierror):
        return SendFailure("fatal", f"cannot resolve the SMTP host of {where}: {exc.strerror}")
    if isinstance(exc, OSError):
        return SendFailure("transient", f"{where}: {exc.strerror or exc}")
    return SendFailure("permanent", f"{where}: {type(exc).__name__}: {exc}")


class SmtpTransport:
    """A connection to the configured server, opened on first use and reopened after errors."""

    def __init__(self, settings: SmtpSettings, password: str | None, root: Path) -> None:
        self.settings = settings
        self._password = password
        self._ca_file = str(root / settings.ca_file) if settings.ca_file else None
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.effective_port}"

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self._ca_file)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.effective_port, timeout=s.timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(s.host, s.effective_port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, self._password or "")
        except BaseException:
            _close_quietly(smtp)
            raise
        return smtp

    def send(self, data: bytes, sender: str, recipient: str, on_data: Callable[[], None] = lambda: None) -> None:
        """One transaction to one recipient; raises SmtpFailure when it fails.

        `on_data` runs after the server agreed to take the data (354), before
        any of it is sent; a failure after the data went out is `uncertain`.
        """
        data_sent = False
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            smtp = self._smtp
            options = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
            code, reply = smtp.mail(sender, options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
            smtp.putcmd("data")
            code, reply = smtp.getreply()
            if code != 354:
                raise smtplib.SMTPDataError(code, reply)
            on_data()
            smtp.send(_dot_stuffed(data))
            data_sent = True
            if smtp.sock is not None:
                smtp.sock.settimeout(self.settings.reply_timeout)
            code, reply = smtp.getreply()
            if smtp.sock is not None:
                smtp.sock.settimeout(self.settings.timeout)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPResponseException as exc:
            self._reset_or_close()
            raise SmtpFailure(classify(exc, self.where)) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            failure = classify(exc, self.where)
            if data_sent:
                failure = SendFailure("uncertain", f"no reply from {self.where} after the message data was sent "
                                                   f"({failure.text}); the server may have accepted it")
            raise SmtpFailure(failure) from None

    def _reset_or_close(self) -> None:
        """After a refusal the connection may be reused once the transaction is reset."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                _close_quietly(smtp)

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def _dot_stuffed(data: bytes) -> bytes:
    """The message data as sent after DATA (as smtplib does): leading dots doubled, ended by CRLF.CRLF."""
    text = re.sub(rb"(?m)^\.", b"..", data)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    return text + b".\r\n"


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass


@dataclass(frozen=True)
class Attempted:
    """The end of one recipient's attempts."""

    status: str  # sent | failed | rejected | uncertain
    attempts: int
    failure: SendFailure | None


def outcome_of(failure: SendFailure) -> str:
    """The ledger outcome of a failed attempt."""
    return {"transient": "failed", "uncertain": "uncertain"}.get(failure.kind, "rejected")


def send_with_retry(send: Callable[[], None], retry: RetrySettings, on_attempt: Callable[[str, str], None],
                    sleep: Callable[[float], None] = time.sleep) -> Attempted:
    """Call `send` until it succeeds, fails permanently, is uncertain or the attempts run out.

    `on_attempt(status, error)` is called after every attempt (and must commit
    it); status is `sent`, `failed` (transient), `rejected` (permanent/fatal) or
    `uncertain` (never retried: the message may have arrived).
    """
    failure = None
    for attempt in range(1, retry.attempts + 1):
        try:
            send()
        except SmtpFailure as exc:
            failure = exc.failure
            status = outcome_of(failure)
            on_attempt(status, failure.text)
            if failure.kind != "transient":
                return Attempted(status, attempt, failure)
            if attempt < retry.attempts:
                sleep(retry.base_delay * 2 ** (attempt - 1))
            continue
        on_attempt("sent", "")
        return Attempted("sent", attempt, None)
    return Attempted("failed", retry.attempts, failure)
