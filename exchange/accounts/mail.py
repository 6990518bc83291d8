"""Outgoing mail: sign-in links and invitations, through SMTP or into the log.

`mailer_for(settings)` gives an `SmtpMailer` when `EXCHANGE_SMTP_HOST` is
set (port, STARTTLS, user, password and sender from the settings), else a
`LogMailer` that writes each mail, links and all, to the node's log: enough
for a demo node on one's own machine, never for a real one. Sending runs in
a thread (smtplib is blocking); a mail server that refuses or cannot be
reached raises `MailError` with its reason.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from exchange.errors import ExchangeError
from exchange.settings import Settings

log = logging.getLogger("exchange.mail")


class MailError(ExchangeError):
    code = "MAIL_FAILED"


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


def message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


class SmtpMailer:
    def __init__(self, host: str, port: int, *, starttls: bool, user: str, password: str, sender: str,
                 timeout: float = 20.0) -> None:
        self.host, self.port, self.starttls = host, port, starttls
        self.user, self.password, self.sender, self.timeout = user, password, sender, timeout

    def _send(self, msg: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(msg)

    async def send(self, to: str, subject: str, body: str) -> None:
        try:
            await asyncio.to_thread(self._send, message(self.sender, to, subject, body))
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail to %s not sent: %s", to, exc)
            raise MailError(f"the mail could not be sent through {self.host}:{self.port}: {exc}") from None


class LogMailer:
    """Writes mails to the log instead of sending them (no EXCHANGE_SMTP_HOST)."""

    def __init__(self, sender: str) -> None:
        self.sender = sender

    async def send(self, to: str, subject: str, body: str) -> None:
        log.warning("no EXCHANGE_SMTP_HOST set, so this mail is shown here instead of sent:\n"
                    "To: %s\nSubject: %s\n\n%s", to, subject, body)


def mailer_for(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return LogMailer(settings.mail_from)
    return SmtpMailer(settings.smtp_host, settings.smtp_port, starttls=settings.smtp_starttls,
                      user=settings.smtp_user, password=settings.smtp_password, sender=settings.mail_from)
