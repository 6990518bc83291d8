"""A project's budget: a whole amount and the currency it is given in.

Most projects on the network are paid in euros, so the currency defaults to
EUR; a publisher may choose another of `CURRENCIES` (ISO 4217 codes of the
currencies a European municipality or a partner is likely to budget in). The
amount is stored in the entry's `budget_eur` column and envelope key (their
name is older than the choice): it is an amount in `budget_currency`, and an
envelope without `budget_currency` means euros. Pure functions.
"""

from __future__ import annotations

from exchange.errors import N_, FieldError

__all__ = ["CURRENCIES", "DEFAULT_CURRENCY", "check_currency"]

DEFAULT_CURRENCY = "EUR"
CURRENCIES = ("EUR", "CHF", "DKK", "PLN", "CZK", "SEK", "NOK", "HUF", "GBP", "USD")


def check_currency(value: str | None) -> str:
    """The currency's ISO 4217 code (upper case; empty means euros), or FieldError."""
    code = (value or "").strip().upper() or DEFAULT_CURRENCY
    if code not in CURRENCIES:
        raise FieldError("budget_currency", N_("%(value)s is not a currency this node offers; please choose one of "
                                               "%(choices)s."), value=code[:10], choices=", ".join(CURRENCIES))
    return code
