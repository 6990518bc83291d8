"""The errors of the exchange, one small tree with stable codes.

    ExchangeError                 code
    ├── NotFoundError             NOT_FOUND
    ├── UnauthenticatedError      UNAUTHENTICATED
    ├── PermissionDeniedError     FORBIDDEN
    ├── InvalidInputError         BAD_USER_INPUT
    │   ├── FieldError            BAD_USER_INPUT      (names the field; its message as a catalogue text)
    │   └── RegisterFormatError   BAD_REGISTER_FILE   (carries the line number)
    ├── ConflictError             CONFLICT
    ├── RateLimitedError          RATE_LIMITED        (too many requests; try again later)
    └── FederationError           (federation/errors.py adds its subclasses:
                                   PEER_UNREACHABLE, BAD_SIGNATURE, PROTOCOL_MISMATCH)

Each error carries a message meant for a person and a stable UPPER_SNAKE code
that surfaces unchanged in GraphQL `extensions.code`, in HTTP error bodies and
in the CLI's exit messages.
"""

from __future__ import annotations


class ExchangeError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ExchangeError):
    code = "NOT_FOUND"


class UnauthenticatedError(ExchangeError):
    code = "UNAUTHENTICATED"


class PermissionDeniedError(ExchangeError):
    code = "FORBIDDEN"


class InvalidInputError(ExchangeError):
    code = "BAD_USER_INPUT"


def N_(text: str) -> str:
    """Marks a message for the web pages' catalogues (pybabel extracts it); returns it unchanged."""
    return text


class FieldError(InvalidInputError):
    """Bad input in one field: `field` names it ("period_end", "goals.0.indicators.1.target"),
    `text` is the message with %(name)s placeholders filled from `params`. The web form
    translates `text` and shows it next to the field; everyone else reads `message`."""

    def __init__(self, field: str, text: str, **params: object) -> None:
        super().__init__(f"{field}: {text % params}" if params else f"{field}: {text}")
        self.field = field
        self.text = text
        self.params = params


class RegisterFormatError(InvalidInputError):
    code = "BAD_REGISTER_FILE"

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class ConflictError(ExchangeError):
    code = "CONFLICT"


class RateLimitedError(ExchangeError):
    code = "RATE_LIMITED"


class FederationError(ExchangeError):
    code = "FEDERATION_ERROR"
