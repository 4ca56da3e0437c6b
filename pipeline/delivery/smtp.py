"""SMTP transport: connect (STARTTLS, implicit TLS or plain), authenticate, send.

One SMTP transaction per recipient (MAIL FROM, one RCPT TO, DATA), so every
recipient's outcome is known exactly. Failures are classified:

- transient: connection refused, dropped or timed out, 4xx replies -> retried
  with exponential backoff (`retry.base_delay` * 2^(n-1)), up to
  `retry.attempts` attempts;
- permanent: 5xx replies for this message or recipient -> not retried;
- fatal: the server cannot be used at all (TLS certificate not trusted,
  authentication failed, the sender refused) -> no recipient is tried further.

smtplib and ssl errors are turned into one-line texts here; the password is
passed to `login` only and never appears in a message.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.config.delivery import RetrySettings, SmtpSettings

Kind = Literal["transient", "permanent", "fatal"]


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

    def send(self, data: bytes, sender: str, recipient: str) -> None:
        """One transaction to one recipient; raises SmtpFailure when it fails."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.sendmail(sender, [recipient], data)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SmtpFailure(classify(exc, self.where)) from None

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


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass


@dataclass(frozen=True)
class Attempted:
    """The end of one recipient's attempts."""

    status: str  # sent | failed | rejected
    attempts: int
    failure: SendFailure | None


def send_with_retry(send: Callable[[], None], retry: RetrySettings, on_attempt: Callable[[str, str], None],
                    sleep: Callable[[float], None] = time.sleep) -> Attempted:
    """Call `send` until it succeeds, fails permanently or the attempts run out.

    `on_attempt(status, error)` is called after every attempt (and must commit
    it); status is `sent`, `failed` (transient) or `rejected` (permanent/fatal).
    """
    failure = None
    for attempt in range(1, retry.attempts + 1):
        try:
            send()
        except SmtpFailure as exc:
            failure = exc.failure
            status = "failed" if failure.kind == "transient" else "rejected"
            on_attempt(status, failure.text)
            if failure.kind != "transient":
                return Attempted(status, attempt, failure)
            if attempt < retry.attempts:
                sleep(retry.base_delay * 2 ** (attempt - 1))
            continue
        on_attempt("sent", "")
        return Attempted("sent", attempt, None)
    return Attempted("failed", retry.attempts, failure)
