"""Settings of one node, read once from the environment.

One table (`SETTINGS`) names every variable, its default and its meaning; it
feeds `exchange --help`, the README and `load_settings`. Tests build
`Settings(...)` directly instead of touching the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from exchange.errors import InvalidInputError


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("EXCHANGE_DATABASE_URL", "database_url", "sqlite://exchange.db",
            "tortoise URL of the database; postgres://user:pw@host/db for PostgreSQL"),
    Setting("EXCHANGE_NODE_URL", "node_url", "http://127.0.0.1:8000",
            "this node's public base URL, its id in the network"),
    Setting("EXCHANGE_NODE_NAME", "node_name", "Exchange node", "shown to people and peers"),
    Setting("EXCHANGE_KEY_FILE", "key_file", "",
            "the node's Ed25519 private key (created if missing, mode 0600); "
            "default: next to the SQLite file, or exchange-node.key"),
    Setting("EXCHANGE_DEFAULT_LICENSE", "default_license", "CC-BY-4.0",
            "licence of entries published without one (SPDX id)"),
    Setting("EXCHANGE_SECRET", "secret", "",
            "secret for session cookies of the web pages; default: derived from the node key"),
    Setting("EXCHANGE_MAX_BODY_BYTES", "max_body_bytes", "200000",
            "largest Markdown body of an entry, in bytes"),
    Setting("EXCHANGE_MATCHING_WEIGHTS", "matching_weights", "topics=0.5,experience=0.2,structure=0.3",
            "weights of the peer-matching signals (see /matching)"),
    Setting("EXCHANGE_SYNC_INTERVAL", "sync_interval", "300",
            "seconds between scheduled pulls from each peer; 0 turns the scheduler off"),
    Setting("EXCHANGE_PEER_DEADLINE", "peer_deadline", "60",
            "seconds one request to a peer (a feed page, a descriptor, a hint) may take in all; "
            "a peer that answers more slowly counts as unreachable"),
    Setting("EXCHANGE_READ_TIMEOUT", "read_timeout", "20",
            "seconds a client may take to send a request's headers, and again its body, "
            "before the server answers 408 and closes the connection"),
    Setting("EXCHANGE_LOG_LEVEL", "log_level", "INFO", "log level (DEBUG, INFO, WARNING, ERROR)"),
    Setting("EXCHANGE_DCAT_CONTRIBUTOR_ID", "dcat_contributor_id", "",
            "the contributor id GovData assigned to this node's operator (dcatde:contributorID in /catalog)"),
)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://exchange.db"
    node_url: str = "http://127.0.0.1:8000"
    node_name: str = "Exchange node"
    key_file: str = ""
    default_license: str = "CC-BY-4.0"
    secret: str = ""
    max_body_bytes: int = 200_000
    matching_weights: Mapping[str, float] = field(
        default_factory=lambda: {"topics": 0.5, "experience": 0.2, "structure": 0.3}
    )
    sync_interval: float = 300.0
    peer_deadline: float = 60.0
    read_timeout: float = 20.0
    log_level: str = "INFO"
    dcat_contributor_id: str = ""

    @property
    def resolved_key_file(self) -> Path:
        """Where the node key lives: the setting, else beside the SQLite file."""
        if self.key_file:
            return Path(self.key_file)
        if self.database_url.startswith("sqlite://"):
            db_path = self.database_url.removeprefix("sqlite://").split("?", 1)[0]
            if db_path and db_path != ":memory:":
                return Path(db_path).with_suffix(".key")
        return Path("exchange-node.key")

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def parse_weights(text: str) -> dict[str, float]:
    """Parse `topics=0.5,experience=0.2,structure=0.3` into a mapping."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise InvalidInputError(f"matching weight {part!r} is not of the form name=number")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise InvalidInputError(f"matching weight {name.strip()!r} is not a number: {value!r}") from None
        if weights[name.strip()] < 0:
            raise InvalidInputError(f"matching weight {name.strip()!r} is negative")
    return weights


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment (default: `os.environ`)."""
    env = os.environ if environ is None else environ
    raw = {s.attr: env.get(s.env, s.default) for s in SETTINGS}
    try:
        max_body = int(raw["max_body_bytes"])
        interval = float(raw["sync_interval"])
        deadline, read_timeout = float(raw["peer_deadline"]), float(raw["read_timeout"])
    except ValueError as exc:
        raise InvalidInputError(f"a numeric setting is not a number: {exc}") from None
    for name, value in (("EXCHANGE_PEER_DEADLINE", deadline), ("EXCHANGE_READ_TIMEOUT", read_timeout)):
        if not value > 0:
            raise InvalidInputError(f"{name} must be a positive number of seconds, not {value:g}")
    url = raw["node_url"].rstrip("/")
    db_url = raw["database_url"]
    if db_url.startswith("postgresql://"):
        db_url = "postgres://" + db_url.removeprefix("postgresql://")
    return Settings(
        database_url=db_url,
        node_url=url,
        node_name=raw["node_name"],
        key_file=raw["key_file"],
        default_license=raw["default_license"],
        secret=raw["secret"],
        max_body_bytes=max_body,
        matching_weights=parse_weights(raw["matching_weights"]),
        sync_interval=interval,
        peer_deadline=deadline,
        read_timeout=read_timeout,
        log_level=raw["log_level"].upper(),
        dcat_contributor_id=raw["dcat_contributor_id"].strip(),
    )
