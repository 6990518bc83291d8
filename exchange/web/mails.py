"""The mails a node sends to people: a sign-in link, an invitation. In German or English.

Used by the web pages and the API alike; a mail that cannot be sent is
logged and reported as False, and what caused it stays valid (the person
may ask again).
"""

from __future__ import annotations

import logging

from exchange.accounts.mail import Mailer
from exchange.auth import Publisher
from exchange.errors import ExchangeError
from exchange.settings import Settings
from exchange.web.i18n import role_name, translations

log = logging.getLogger("exchange.mail")


async def send_signin_link(mailer: Mailer, settings: Settings, locale: str, email: str, token: str) -> bool:
    _ = translations(locale).gettext
    url = f"{settings.node_url}/signin/link/{token}"
    body = _("Hello,\n\nto sign in to %(node)s, open this link within 15 minutes:\n\n%(url)s\n\n"
             "The link works once. If you did not ask for it, you can ignore this mail.") % {
        "node": settings.node_name, "url": url}
    return await _send(mailer, email, _("Your sign-in link for %(node)s") % {"node": settings.node_name}, body)


async def send_invitation(
    mailer: Mailer, settings: Settings, locale: str, email: str, token: str, publisher: Publisher, role: str
) -> bool:
    _ = translations(locale).gettext
    url = f"{settings.node_url}/invitations/{token}"
    body = _("Hello,\n\nyou are invited to write for %(publisher)s on %(node)s as %(role)s. "
             "To accept, open this link within 7 days:\n\n%(url)s\n\n"
             "If you did not expect this invitation, you can ignore this mail.") % {
        "publisher": publisher.name, "node": settings.node_name, "role": role_name(role, locale), "url": url}
    return await _send(mailer, email, _("Invitation to %(node)s") % {"node": settings.node_name}, body)


async def _send(mailer: Mailer, to: str, subject: str, body: str) -> bool:
    try:
        await mailer.send(to, subject, body)
    except ExchangeError as exc:
        log.warning("mail not sent: %s", exc.message)
        return False
    return True
