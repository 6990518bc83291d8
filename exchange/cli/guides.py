"""`exchange import guides DIR`: a folder of Markdown becomes an organisation's guides.

The command prints one line per guide file (created, revised with the fields
that changed, unchanged, removed, withdrawn), then a summary. A bundle with
problems is not imported at all: every problem is printed as `file:line:
reason` on standard error and the command exits with status 1. The
organisation is named with `--organisation` (its slug); it is required,
because guessing the publisher of public guides is not something to do
silently. `--organisation-name` creates the organisation on first import.
"""

from __future__ import annotations

from pathlib import Path

import click

from exchange.db import Database
from exchange.settings import Settings

STATE_HELP = (
    "Review state of the guides this import creates or changes. Default: new guides start "
    "as draft, changed guides keep their state. Only published guides are public and federate."
)


def format_report(report: object) -> list[str]:
    """The per-file lines and the summary line of an import report."""
    from exchange.curation import ImportReport

    assert isinstance(report, ImportReport)
    lines = []
    for f in report.files:
        detail = f" ({', '.join(f.changed)})" if f.changed else ""
        hint = " - run with --prune to withdraw it" if f.action == "removed" else ""
        state = f", {f.state}" if f.state else ""
        lines.append(
            f"{f.action:<9} {f.file} -> guide {f.guide_id} v{f.version}{state}{detail}{hint}"
        )
    counts = ", ".join(
        f"{report.count(a)} {a}"
        for a in ("created", "revised", "unchanged", "removed", "withdrawn")
        if report.count(a)
    )
    lines.append(
        f"{report.organisation}: {counts or 'no guides'}; {report.assets_stored} asset(s) stored; "
        f"{len(report.collections)} collection(s)"
    )
    return lines


@click.command("guides")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--organisation",
    "organisation",
    required=True,
    help="Slug of the organisation that publishes the guides.",
)
@click.option(
    "--organisation-name",
    "organisation_name",
    default=None,
    help="Name of the organisation; creates it when this node does not know the slug yet.",
)
@click.option(
    "--prune", is_flag=True, help="Withdraw guides whose file is no longer in the bundle."
)
@click.option(
    "--state", type=click.Choice(["draft", "in_review", "published"]), default=None, help=STATE_HELP
)
def import_guides_command(
    directory: Path,
    organisation: str,
    organisation_name: str | None,
    prune: bool,
    state: str | None,
) -> None:
    """Import a guide bundle: Markdown files with YAML front matter (and collections.yaml)."""
    from exchange.app import build_node
    from exchange.cli.runner import run
    from exchange.curation import ImportReport, import_guides
    from exchange.demo import ensure_reference_data

    async def go(db: Database, settings: Settings) -> ImportReport:
        await ensure_reference_data()
        node = build_node(settings, database=db)
        return await import_guides(
            node.catalogue,
            directory,
            organisation,
            state=state,
            prune=prune,
            organisation_name=organisation_name,
        )

    report = run(go)  # a GuideBundleError becomes a ClickException listing every problem
    for line in format_report(report):
        click.echo(line)
