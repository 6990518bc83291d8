"""`exchange serve`, `migrate` and `export-schema`: the node itself.

`serve` checks and migrates the database (loading the demo content with
`--demo`) and runs the web pages, /graphql and /healthz under uvicorn with
read timeouts; `migrate` only applies pending migrations; `export-schema`
prints the GraphQL schema.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import IO, cast

import click

from exchange.cli.runner import console, progress_bar, run, settings_from_env
from exchange.db import Database
from exchange.errors import ExchangeError
from exchange.settings import Settings

WORKER_HEALTHCHECK = 60  # seconds a worker may take to answer uvicorn's supervisor (starting included)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--node-url", default=None,
              help="The node's public URL, when none is configured (recorded in exchange.toml).")
@click.option("--demo", is_flag=True, help="Load the bundled register, topics and demo content into an empty node.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option("--proxy-headers/--no-proxy-headers", default=True, show_default=True,
              help="Behind a reverse proxy: take the client's address and scheme from X-Forwarded-For/-Proto "
                   "sent by the addresses in FORWARDED_ALLOW_IPS (default 127.0.0.1).")
def serve(host: str, port: int, node_url: str | None, demo: bool, workers: int, proxy_headers: bool) -> None:
    """Serve web pages, /graphql and /healthz (checks and migrates the database first)."""
    import uvicorn

    from exchange.app import build_node
    from exchange.settings import record_node_url, served_node_url

    settings = settings_from_env()
    if settings.log_format == "json":  # from the first line on, the log holds JSON lines only
        from exchange.logs import LogLines, log_config

        logging.config.dictConfig(log_config("json", settings.log_level))
        console.file = cast("IO[str]", LogLines(logging.getLogger("exchange.serve")))  # a text stream
    try:
        url, record = served_node_url(settings, host, port, node_url)
    except ExchangeError as exc:
        raise click.ClickException(exc.message) from None
    settings = settings.with_(node_url=url)

    async def prepare(db: Database, s: Settings) -> None:
        node = build_node(settings, database=db)
        if demo:
            from exchange.demo import load_demo

            progress, update = progress_bar("Loading the municipality register")
            with progress:
                report = await load_demo(node.catalogue, progress=update)
            console.print(
                f"demo: {report.municipalities} municipalities, {report.topics} topics, "
                f"{report.organisations} organisations, {report.entries} entries loaded"
            )
            from exchange.accounts.demo import demo_operator

            console.print(await demo_operator(settings))
        else:
            from exchange.demo import ensure_reference_data

            await ensure_reference_data()

    run(prepare, settings=settings)
    if record:
        path = record_node_url(settings, url)
        console.print(f"node URL {url} recorded in {path}: commands sign as this node",
                      highlight=False, soft_wrap=True)
    console.print(f"serving {settings.node_name} at http://{host}:{port} (node id {settings.node_url})",
                  highlight=False, soft_wrap=True)
    logging.getLogger().setLevel(settings.log_level)
    from exchange.logs import log_config
    from exchange.server import GuardedProtocol, quiet_disconnects

    GuardedProtocol.read_timeout = settings.read_timeout
    level = settings.log_level.lower()
    logs = log_config(settings.log_format, settings.log_level)  # every worker's log, request ids in each line
    if workers > 1:  # each worker imports the protocol by name and sets its timeout in exchange.asgi
        if settings.metrics:
            _shared_metrics_folder()
        # a worker loads the catalogue's indexes before it answers uvicorn's health check: on a busy
        # machine that took longer than uvicorn's 5 s, and every worker was killed as it started
        uvicorn.run("exchange.asgi:app", host=host, port=port, workers=workers, log_level=level,
                    http="exchange.server:GuardedProtocol", proxy_headers=proxy_headers, log_config=logs,
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK)
    else:
        from exchange.app import create_app

        uvicorn.run(quiet_disconnects(create_app(settings)), host=host, port=port, log_level=level,
                    http=GuardedProtocol, proxy_headers=proxy_headers, log_config=logs)


def _shared_metrics_folder() -> None:
    """Workers count into files in one folder, which /metrics adds up (prometheus-client's
    multiprocess mode): a fresh one, or PROMETHEUS_MULTIPROC_DIR emptied of an earlier run's files."""
    import atexit
    import os
    import shutil
    import tempfile
    from pathlib import Path

    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if named:
        Path(named).mkdir(parents=True, exist_ok=True)
        for old in Path(named).glob("*.db"):
            old.unlink()
        return
    folder = tempfile.mkdtemp(prefix="exchange-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # read by each worker as it starts
    atexit.register(shutil.rmtree, folder, True)


@click.command()
def migrate() -> None:
    """Apply pending database migrations."""

    async def go(db: Database, s: Settings) -> list[str]:
        return await db.migrate()

    applied = run(go, migrate=False)
    click.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


@click.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL schema (SDL), as graphql/schema.graphql holds it."""
    from exchange.api.schema import export_sdl

    sys.stdout.write(export_sdl())
