"""A project's budget: a whole amount and the currency it is given in.

Most projects on the network are paid in euros, so the currency defaults to
EUR; a publisher may choose another of `CURRENCIES` (ISO 4217 codes of the
currencies a European municipality or a partner is likely to budget in). The
amount is stored in the entry's `budget_eur` column (its name is older than
the choice): it is an amount in `budget_currency`. In a signed envelope a euro
amount travels under `budget_eur`, which every node reads as euros; an amount
in another currency travels under `budget_amount` and `budget_currency`, which
nodes that know no currencies ignore rather than show as euros. An envelope
with `budget_eur` and no `budget_currency` means euros. Pure functions.
"""

from __future__ import annotations

from typing import Any

from exchange.errors import N_, FieldError

__all__ = ["CURRENCIES", "DEFAULT_CURRENCY", "check_currency", "envelope_budget", "received_budget"]

DEFAULT_CURRENCY = "EUR"
CURRENCIES = ("EUR", "CHF", "DKK", "PLN", "CZK", "SEK", "NOK", "HUF", "GBP", "USD")


def check_currency(value: str | None) -> str:
    """The currency's ISO 4217 code (upper case; empty means euros), or FieldError."""
    code = (value or "").strip().upper() or DEFAULT_CURRENCY
    if code not in CURRENCIES:
        raise FieldError("budget_currency", N_("%(value)s is not a currency this node offers; please choose one of "
                                               "%(choices)s."), value=code[:10], choices=", ".join(CURRENCIES))
    return code


def envelope_budget(amount: int | None, currency: str | None) -> dict[str, Any]:
    """The keys of a budget in an envelope's `entry`: `budget_eur` only for euros (or no
    budget), `budget_amount` and `budget_currency` for any other currency."""
    code = currency or DEFAULT_CURRENCY
    if amount is None or code == DEFAULT_CURRENCY:
        return {"budget_eur": amount, "budget_currency": code}
    return {"budget_amount": amount, "budget_currency": code}


def received_budget(body: dict[str, Any]) -> tuple[Any, Any]:
    """The (amount, currency) an envelope's `entry` gives, unchecked: `budget_amount` in
    `budget_currency` where present, else `budget_eur` in `budget_currency` (euros when
    absent). Raises ValueError where the currency of an amount is missing."""
    if body.get("budget_amount") is not None:
        if body.get("budget_currency") is None:
            raise ValueError("budget_amount needs budget_currency")
        return body["budget_amount"], body["budget_currency"]
    return body.get("budget_eur"), body.get("budget_currency")
