"""Settings of one node: the environment over an optional `exchange.toml`.

This module is the one place that reads configuration. One table
(`SETTINGS`) names every variable, its default and its meaning; it feeds
`exchange --help`, the README (`markdown_table`) and `load_settings`. The
server and every command read the same settings (`configuration()`): the
environment first, then `exchange.toml` (written by `exchange init`, found by
`EXCHANGE_CONFIG`, else beside the SQLite database, else in the current
folder), then the defaults; so the id a command signs with is the id the
server serves. A relative SQLite path is resolved against the folder it was
given in. Tests build `Settings(...)` directly instead of touching the
environment.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from exchange.errors import InvalidInputError


@dataclass(frozen=True)
class Setting:
    env: str
    attr: str
    default: str
    help: str


# The name a node has until its operator gives it one (the account page asks them to).
DEFAULT_NODE_NAME = "Exchange node"

SETTINGS: tuple[Setting, ...] = (
    Setting("EXCHANGE_DATABASE_URL", "database_url", "sqlite://exchange.db",
            "tortoise URL of the database; postgres://user:pw@host/db for PostgreSQL"),
    Setting("EXCHANGE_CONFIG", "config_file", "",
            "the configuration file (TOML, the names below in lower case without EXCHANGE_); "
            "default: exchange.toml beside the SQLite database, else in the current folder"),
    Setting("EXCHANGE_NODE_URL", "node_url", "http://127.0.0.1:8000",
            "this node's public base URL, its id in the network"),
    Setting("EXCHANGE_NODE_NAME", "node_name", DEFAULT_NODE_NAME,
            "shown to people and peers; while it is the default, the operator's account page asks for a name"),
    Setting("EXCHANGE_KEY_FILE", "key_file", "",
            "the node's Ed25519 private key (created if missing, mode 0600); "
            "default: next to the SQLite file, or exchange-node.key"),
    Setting("EXCHANGE_DATABASE_WAIT", "database_wait", "0",
            "seconds to wait at start for a database that is not ready yet (PostgreSQL starting), "
            "retrying every 2 s; 0 fails at once"),
    Setting("EXCHANGE_DEFAULT_LICENSE", "default_license", "CC-BY-4.0",
            "licence of entries published without one (SPDX id)"),
    Setting("EXCHANGE_SECRET", "secret", "",
            "secret for session cookies of the web pages; default: derived from the node key"),
    Setting("EXCHANGE_MAX_BODY_BYTES", "max_body_bytes", "200000",
            "largest Markdown body of an entry, in bytes"),
    Setting("EXCHANGE_ATTACHMENTS_DIR", "attachments_dir", "",
            "folder of the attachments' files (stored once by SHA-256); "
            "default: beside the SQLite file (<name>-attachments), or exchange-attachments"),
    Setting("EXCHANGE_S3_ENDPOINT", "s3_endpoint", "",
            "an S3-compatible object store for the attachments' files (http(s)://host[:port]); "
            "unset: files are kept in EXCHANGE_ATTACHMENTS_DIR"),
    Setting("EXCHANGE_S3_BUCKET", "s3_bucket", "", "the bucket of the attachments' files (it must exist)"),
    Setting("EXCHANGE_S3_ACCESS_KEY", "s3_access_key", "", "the access key at the object store"),
    Setting("EXCHANGE_S3_SECRET_KEY", "s3_secret_key", "", "the secret key at the object store"),
    Setting("EXCHANGE_S3_REGION", "s3_region", "us-east-1", "the object store's region (signature V4)"),
    Setting("EXCHANGE_S3_PREFIX", "s3_prefix", "",
            "put before each file's digest in the bucket (e.g. exchange/), to share a bucket"),
    Setting("EXCHANGE_LEGAL_DIR", "legal_dir", "",
            "folder of the operator's legal notice and privacy texts (impressum.de.md, impressum.en.md, "
            "datenschutz.de.md, datenschutz.en.md; Markdown); default: beside the SQLite file (<name>-legal), "
            "or exchange-legal"),
    Setting("EXCHANGE_ATTACHMENT_MAX_BYTES", "attachment_max_bytes", "20971520",
            "largest attachment, in bytes (20 MiB); a larger upload is refused while it streams"),
    Setting("EXCHANGE_ENTRY_ATTACHMENTS_MAX_BYTES", "entry_attachments_max_bytes", "104857600",
            "largest sum of one entry's attachments, in bytes (100 MiB)"),
    Setting("EXCHANGE_MATCHING_WEIGHTS", "matching_weights", "topics=0.5,experience=0.3,structure=0.2",
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
    Setting("EXCHANGE_LOG_FORMAT", "log_format", "text",
            "text: plain log lines; json: one JSON object per line (time, level, logger, message, request_id)"),
    Setting("EXCHANGE_METRICS", "metrics", "on",
            "on: serve /metrics in the Prometheus text format; off: no /metrics (404)"),
    Setting("EXCHANGE_METRICS_TOKEN", "metrics_token", "",
            "a secret that lets anyone read /metrics as Authorization: Bearer <token>; "
            "unset: only the addresses in EXCHANGE_METRICS_ALLOW"),
    Setting("EXCHANGE_METRICS_ALLOW", "metrics_allow", "127.0.0.0/8,::1",
            "addresses and networks (comma-separated) that may read /metrics without the token; "
            "empty: the token only"),
    Setting("EXCHANGE_DCAT_CONTRIBUTOR_ID", "dcat_contributor_id", "",
            "the contributor id GovData assigned to this node's operator (dcatde:contributorID in /catalog)"),
    Setting("EXCHANGE_ALLOW_PLAIN_HTTP", "allow_plain_http", "false",
            "true: talk to peers outside loopback over plain http:// (only inside a closed network); "
            "otherwise HTTPS only"),
    Setting("EXCHANGE_SMTP_HOST", "smtp_host", "",
            "mail server for sign-in links and invitations; unset: mails are written to the log instead"),
    Setting("EXCHANGE_SMTP_PORT", "smtp_port", "587", "port of the mail server"),
    Setting("EXCHANGE_SMTP_STARTTLS", "smtp_starttls", "yes",
            "yes: switch to TLS with STARTTLS before signing in to the mail server; no: plain (local servers)"),
    Setting("EXCHANGE_SMTP_USER", "smtp_user", "", "user name at the mail server; unset: no login"),
    Setting("EXCHANGE_SMTP_PASSWORD", "smtp_password", "", "password at the mail server"),
    Setting("EXCHANGE_MAIL_FROM", "mail_from", "exchange@localhost", "sender address of the node's mails"),
    Setting("EXCHANGE_OIDC_ISSUER", "oidc_issuer", "",
            "issuer URL of the alliance's OpenID provider (discovery at /.well-known/openid-configuration); "
            "unset: sign-in by e-mail link only"),
    Setting("EXCHANGE_OIDC_CLIENT_ID", "oidc_client_id", "", "this node's client id at the OpenID provider"),
    Setting("EXCHANGE_OIDC_CLIENT_SECRET", "oidc_client_secret", "",
            "this node's client secret at the OpenID provider"),
)

SETTINGS_BY_ATTR = {s.attr: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://exchange.db"
    node_url: str = "http://127.0.0.1:8000"
    node_name: str = DEFAULT_NODE_NAME
    key_file: str = ""
    default_license: str = "CC-BY-4.0"
    secret: str = ""
    max_body_bytes: int = 200_000
    attachments_dir: str = ""
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = field(default="", repr=False)
    s3_region: str = "us-east-1"
    s3_prefix: str = ""
    legal_dir: str = ""
    attachment_max_bytes: int = 20 * 1024 * 1024
    entry_attachments_max_bytes: int = 100 * 1024 * 1024
    matching_weights: Mapping[str, float] = field(
        default_factory=lambda: {"topics": 0.5, "experience": 0.3, "structure": 0.2}
    )
    sync_interval: float = 300.0
    peer_deadline: float = 60.0
    read_timeout: float = 20.0
    log_level: str = "INFO"
    dcat_contributor_id: str = ""
    database_wait: float = 0.0
    config_file: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = "exchange@localhost"
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    # Where each value came from (setting attr -> "EXCHANGE_X" or the file), for messages.
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)
    database_relative: bool = field(default=False, compare=False)  # given as a relative SQLite path

    def origin(self, attr: str) -> str:
        """The variable or file line that set `attr`, to name in an error ('default' if none)."""
        return self.origins.get(attr, "default")
    allow_plain_http: bool = False
    log_format: str = "text"
    metrics: bool = True
    metrics_token: str = ""
    metrics_allow: str = "127.0.0.0/8,::1"

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

    @property
    def resolved_attachments_dir(self) -> Path:
        """Where attachment files live: the setting, else beside the SQLite file."""
        if self.attachments_dir:
            return Path(self.attachments_dir)
        db_path = sqlite_path(self.database_url)
        if db_path:
            path = Path(db_path)
            return path.with_name(path.stem + "-attachments")
        return Path("exchange-attachments")

    @property
    def resolved_legal_dir(self) -> Path:
        """Where the operator's legal notice and privacy texts live: the setting, else beside the SQLite file."""
        if self.legal_dir:
            return Path(self.legal_dir)
        db_path = sqlite_path(self.database_url)
        return Path(db_path).with_name(Path(db_path).stem + "-legal") if db_path else Path("exchange-legal")

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def parse_weights(text: str) -> dict[str, float]:
    """Parse `topics=0.5,experience=0.3,structure=0.2` into a mapping."""
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


def parse_flag(name: str, text: str) -> bool:
    """`true`/`false` (also 1/0, yes/no, on/off) into a bool; anything else is refused."""
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off", ""):
        return False
    raise InvalidInputError(f"{name} must be true or false, not {text!r}")


CONFIG_NAME = "exchange.toml"


def sqlite_path(url: str) -> str | None:
    """The file path of a SQLite URL (as written), None for other databases and `:memory:`."""
    if not url.startswith("sqlite://"):
        return None
    path = url.removeprefix("sqlite://").split("?", 1)[0]
    return path if path and path != ":memory:" else None


def _resolve_sqlite(url: str, base: Path) -> str:
    path = sqlite_path(url)
    if path is None or Path(path).is_absolute():
        return url
    query = url.partition("?")[2]
    return f"sqlite://{(base / path).resolve()}" + (f"?{query}" if query else "")


def load_settings(
    environ: Mapping[str, str] | None = None,
    file_values: Mapping[str, object] | None = None,
    *,
    file_path: Path | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build settings from the environment (default: `os.environ`) over a file's values.

    Relative paths (a SQLite file, the key file) are resolved against the folder
    they were given in: the current one for the environment, the file's for the file.
    """
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    raw: dict[str, str] = {}
    origins: dict[str, str] = {}
    bases: dict[str, Path] = {}
    for s in SETTINGS:
        if s.env in env:
            raw[s.attr], origins[s.attr], bases[s.attr] = env[s.env], s.env, here
        elif file_values is not None and s.attr in file_values and file_path is not None:
            raw[s.attr] = str(file_values[s.attr])
            origins[s.attr] = f"{s.attr} in {file_path}"
            bases[s.attr] = file_path.parent
        else:
            raw[s.attr], bases[s.attr] = s.default, here
    try:
        max_body = int(raw["max_body_bytes"])
        attachment_max, entry_max = int(raw["attachment_max_bytes"]), int(raw["entry_attachments_max_bytes"])
        interval = float(raw["sync_interval"])
        deadline, read_timeout = float(raw["peer_deadline"]), float(raw["read_timeout"])
        wait = float(raw["database_wait"])
        smtp_port = int(raw["smtp_port"])
    except ValueError as exc:
        raise InvalidInputError(f"a numeric setting is not a number: {exc}") from None
    for name, value in (("EXCHANGE_PEER_DEADLINE", deadline), ("EXCHANGE_READ_TIMEOUT", read_timeout)):
        if not value > 0:
            raise InvalidInputError(f"{name} must be a positive number of seconds, not {value:g}")
    if attachment_max < 1 or entry_max < attachment_max:
        raise InvalidInputError(
            "EXCHANGE_ATTACHMENT_MAX_BYTES must be positive and EXCHANGE_ENTRY_ATTACHMENTS_MAX_BYTES "
            f"at least as large, not {attachment_max} and {entry_max}")
    if wait < 0:
        raise InvalidInputError(f"EXCHANGE_DATABASE_WAIT must be 0 or more seconds, not {wait:g}")
    starttls = raw["smtp_starttls"].strip().lower()
    if starttls not in ("yes", "no", "1", "0", "true", "false"):
        raise InvalidInputError(f"EXCHANGE_SMTP_STARTTLS must be yes or no, not {raw['smtp_starttls']!r}")
    if not 0 < smtp_port < 65536:
        raise InvalidInputError(f"EXCHANGE_SMTP_PORT must be a port number, not {smtp_port}")
    issuer = raw["oidc_issuer"].strip().rstrip("/")
    if issuer and not issuer.startswith(("https://", "http://")):
        raise InvalidInputError(f"EXCHANGE_OIDC_ISSUER must be an http(s) URL, not {issuer!r}")
    if issuer and not raw["oidc_client_id"].strip():
        raise InvalidInputError("EXCHANGE_OIDC_ISSUER is set but EXCHANGE_OIDC_CLIENT_ID is not")
    s3_endpoint = raw["s3_endpoint"].strip().rstrip("/")
    if s3_endpoint:
        parts = urlsplit(s3_endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise InvalidInputError(f"EXCHANGE_S3_ENDPOINT must be http(s)://host[:port], not {s3_endpoint!r}")
        for name in ("s3_bucket", "s3_access_key", "s3_secret_key"):
            if not raw[name].strip():
                raise InvalidInputError(f"EXCHANGE_S3_ENDPOINT is set but EXCHANGE_{name.upper()} is not")
    log_format = raw["log_format"].strip().lower()
    if log_format not in ("text", "json"):
        raise InvalidInputError(f"EXCHANGE_LOG_FORMAT must be text or json, not {raw['log_format']!r}")
    for part in raw["metrics_allow"].split(","):
        try:
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)
        except ValueError:
            raise InvalidInputError(
                f"EXCHANGE_METRICS_ALLOW: {part.strip()!r} is not an address or network (such as 10.0.0.0/8)"
            ) from None
    url = raw["node_url"].rstrip("/")
    db_url = raw["database_url"]
    if db_url.startswith("postgresql://"):
        db_url = "postgres://" + db_url.removeprefix("postgresql://")
    key_file = raw["key_file"]
    attachments_dir = raw["attachments_dir"].strip()
    if attachments_dir and not Path(attachments_dir).is_absolute():
        attachments_dir = str(bases["attachments_dir"] / attachments_dir)
    legal_dir = raw["legal_dir"].strip()
    if legal_dir and not Path(legal_dir).is_absolute():
        legal_dir = str(bases["legal_dir"] / legal_dir)
    if key_file and not Path(key_file).is_absolute():
        key_file = str(bases["key_file"] / key_file)
    return Settings(
        database_url=_resolve_sqlite(db_url, bases["database_url"]),
        node_url=url,
        node_name=raw["node_name"],
        key_file=key_file,
        default_license=raw["default_license"],
        secret=raw["secret"],
        max_body_bytes=max_body,
        attachments_dir=attachments_dir,
        s3_endpoint=s3_endpoint,
        s3_bucket=raw["s3_bucket"].strip(),
        s3_access_key=raw["s3_access_key"].strip(),
        s3_secret_key=raw["s3_secret_key"].strip(),
        s3_region=raw["s3_region"].strip() or "us-east-1",
        s3_prefix=raw["s3_prefix"].strip(),
        legal_dir=legal_dir,
        attachment_max_bytes=attachment_max,
        entry_attachments_max_bytes=entry_max,
        matching_weights=parse_weights(raw["matching_weights"]),
        sync_interval=interval,
        peer_deadline=deadline,
        read_timeout=read_timeout,
        log_level=raw["log_level"].upper(),
        dcat_contributor_id=raw["dcat_contributor_id"].strip(),
        database_wait=wait,
        config_file=str(file_path) if file_path else "",
        origins=origins,
        database_relative=not Path(sqlite_path(db_url) or "/").is_absolute(),
        allow_plain_http=parse_flag("EXCHANGE_ALLOW_PLAIN_HTTP", raw["allow_plain_http"]),
        log_format=log_format,
        metrics=parse_flag("EXCHANGE_METRICS", raw["metrics"]),
        metrics_token=raw["metrics_token"].strip(),
        metrics_allow=raw["metrics_allow"],
        smtp_host=raw["smtp_host"].strip(),
        smtp_port=smtp_port,
        smtp_starttls=starttls in ("yes", "1", "true"),
        smtp_user=raw["smtp_user"],
        smtp_password=raw["smtp_password"],
        mail_from=raw["mail_from"].strip(),
        oidc_issuer=issuer,
        oidc_client_id=raw["oidc_client_id"].strip(),
        oidc_client_secret=raw["oidc_client_secret"],
    )


def find_config_file(environ: Mapping[str, str], cwd: Path) -> Path | None:
    """`EXCHANGE_CONFIG`, else exchange.toml beside the SQLite database, else in `cwd`."""
    named = environ.get("EXCHANGE_CONFIG", "").strip()
    if named:
        path = cwd / named
        if not path.is_file():
            raise InvalidInputError(f"EXCHANGE_CONFIG names {path}, which is not a file")
        return path
    db_path = sqlite_path(environ.get("EXCHANGE_DATABASE_URL", SETTINGS_BY_ATTR["database_url"].default))
    candidates = [(cwd / db_path).parent / CONFIG_NAME] if db_path else []
    candidates.append(cwd / CONFIG_NAME)
    return next((c.resolve() for c in candidates if c.is_file()), None)


def read_config_file(path: Path) -> dict[str, object]:
    """The values of an exchange.toml; unknown names and unreadable files are named."""
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid TOML: {exc}") from None
    known = set(SETTINGS_BY_ATTR) - {"config_file"}
    for name, value in values.items():
        if name not in known:
            raise InvalidInputError(f"{path}: unknown setting {name!r} (known: {', '.join(sorted(known))})")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidInputError(f"{path}: {name} must be a string or a number")
    return values


def write_config_file(path: Path, values: Mapping[str, str]) -> None:
    """Write (or rewrite) an exchange.toml with `values` (setting attr -> text)."""
    lines = ["# Settings of this node, read by `exchange serve` and every other command.",
             "# The environment (EXCHANGE_*) overrides them; see `exchange --help`."]
    lines += [f"{name} = {json.dumps(value)}" for name, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def configuration(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """The settings the server and every command use: environment over exchange.toml."""
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    path = find_config_file(env, here)
    values = read_config_file(path) if path else None
    return load_settings(env, values, file_path=path, cwd=here)


LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def served_node_url(settings: Settings, host: str, port: int, explicit: str | None = None) -> tuple[str, bool]:
    """The node URL `exchange serve --host H --port P [--node-url U]` serves, and whether to record it.

    A configured URL (environment or exchange.toml) is the node's id and stays
    so: when it names this machine on another port, or `--node-url` differs
    from it, serving refuses rather than guess (commands would sign with the
    configured id and be refused by peers). Nothing configured: the URL is
    `--node-url` or http://H:P, recorded in exchange.toml so commands use it too.
    """
    configured = settings.origin("node_url") != "default"
    where = settings.origin("node_url")
    if explicit:
        url = explicit.rstrip("/")
        if configured and url != settings.node_url:
            raise InvalidInputError(
                f"--node-url {url} differs from the configured node URL {settings.node_url} ({where}); "
                f"commands sign with the configured one: change it there instead")
        return url, not configured
    if configured:
        parts = urlsplit(settings.node_url)
        # an https URL is a proxy's (the node itself speaks http), on whatever port
        own = parts.scheme == "http" and (parts.hostname in LOCAL_HOSTS or parts.hostname == host)
        default_port = 443 if parts.scheme == "https" else 80
        if own and (parts.port or default_port) != port:
            raise InvalidInputError(
                f"the configured node URL {settings.node_url} ({where}) names this machine on another port "
                f"than --port {port}: set it to http://{parts.hostname}:{port} there, or serve on "
                f"port {parts.port or default_port}")
        return settings.node_url, False
    if host in {"0.0.0.0", "::", ""}:
        raise InvalidInputError(
            f"--host {host or '(all)'} listens on every address and says nothing about the node's public URL: "
            "pass --node-url, or set node_url with `exchange init --node-url URL`")
    netloc = f"[{host}]" if ":" in host else host
    return f"http://{netloc}:{port}", True


def record_node_url(settings: Settings, url: str) -> Path:
    """Write `node_url` into the node's exchange.toml (made beside the SQLite database when missing)."""
    path = Path(settings.config_file) if settings.config_file else config_home(settings) / CONFIG_NAME
    values = {k: str(v) for k, v in read_config_file(path).items()} if path.is_file() else {}
    values["node_url"] = url
    write_config_file(path, values)
    return path


def config_home(settings: Settings) -> Path:
    """Where `exchange init` puts exchange.toml: beside the SQLite database, else the current folder."""
    path = sqlite_path(settings.database_url)
    return Path(path).parent if path else Path.cwd()


def markdown_table() -> str:
    """The README's table of settings, generated from `SETTINGS`."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.env}` | {f'`{s.default}`' if s.default else '–'} | {s.help} |" for s in SETTINGS]
    return "\n".join(rows) + "\n"
