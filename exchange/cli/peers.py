"""`exchange peers add|list|remove|vouched|forget-key` and `exchange sync`: operating federation.

`peers add URL` fetches the node's descriptor and pins its key (a changed key
is refused until `--confirm-key-change`); `--member` lets it receive
`network` entries, `--trust-relayed` accepts the origin keys it vouches for.
`peers list` shows per peer: last success, entries behind, last error, next
attempt, envelopes held back and why. `peers vouched` lists the origin keys
peers vouched for (and whether that peer is trusted to relay now);
`peers forget-key ORIGIN` drops them. `sync` pulls now, with a progress
bar, and exits with status 1 when any peer failed.
"""

from __future__ import annotations

import sys
from datetime import datetime

import click

from exchange.cli.runner import progress_bar, run
from exchange.db import Database
from exchange.settings import Settings


def _federation(db: Database, settings: Settings):  # type: ignore[no-untyped-def]
    from exchange.app import build_node
    from federation.routes import Federation

    return Federation(build_node(settings, database=db))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


@click.group()
def peers() -> None:
    """Peer nodes: add (pin their key), list with their state, remove."""


@peers.command("add")
@click.argument("url")
@click.option("--member", is_flag=True, help="Same alliance: may receive `network` entries.")
@click.option("--trust-relayed", is_flag=True,
              help="Accept entries of other origins this peer relays, with the keys it vouches for.")
@click.option("--confirm-key-change", is_flag=True,
              help="Accept a key that differs from the pinned one (after asking its operator).")
def peers_add(url: str, member: bool, trust_relayed: bool, confirm_key_change: bool) -> None:
    """Fetch the descriptor of the node at URL and pin its key."""
    from federation import store

    async def go(db: Database, settings: Settings) -> str:
        federation = _federation(db, settings)
        try:
            descriptor = await federation.client().descriptor(url.strip())
        except ValueError as exc:
            raise click.ClickException(f"{url}: {exc}") from None
        finally:
            await federation.http.aclose()
        if descriptor.id == federation.key.node_url:
            raise click.ClickException(f"{url} is this node itself")
        peer = await store.pin_peer(descriptor, member=member, trust_relayed=trust_relayed,
                                    confirm_key_change=confirm_key_change, now=federation.clock())
        return (f"peer {peer.url} ({peer.name}) pinned with key {peer.key_id}"
                f"{', member' if peer.member else ''}{', relays trusted' if peer.trust_relayed else ''}")

    click.echo(run(go))


@peers.command("list")
def peers_list() -> None:
    """Peers with their state: last success, entries behind, last error, next attempt."""
    from exchange.models import PendingEnvelope
    from federation import store

    async def go(db: Database, settings: Settings) -> list[str]:
        lines: list[str] = []
        for peer in await store.list_peers():
            flags = [f for f, on in (("member", peer.member), ("trusts relays", peer.trust_relayed)) if on]
            lines.append(f"{peer.url}  {peer.name}  key {peer.key_id}" + (f"  [{', '.join(flags)}]" if flags else ""))
            behind = "unknown" if peer.entries_behind is None else str(peer.entries_behind)
            lines.append(f"  last success {_when(peer.last_success)}; entries behind {behind}; "
                         f"received {peer.applied_total}; next attempt {_when(peer.next_attempt)}")
            if peer.last_error:
                lines.append(f"  last error ({peer.failures} failure(s) in a row) [{peer.last_error_code}]: "
                             f"{peer.last_error}")
            pending = await PendingEnvelope.filter(peer_url=peer.url).order_by("id")
            if pending:
                lines.append(f"  {len(pending)} entry version(s) held back:")
                for row in pending[:10]:
                    lines.append(f"    {row.entry_uid} v{row.version} from {row.origin_node}: {row.reason}")
        return lines or ["no peers yet (exchange peers add URL)"]

    click.echo("\n".join(run(go)))


@peers.command("remove")
@click.argument("url")
def peers_remove(url: str) -> None:
    """Forget a peer (entries received from it stay)."""
    from federation import store
    from federation.identity import normalize_node_url

    async def go(db: Database, settings: Settings) -> None:
        try:
            canonical = normalize_node_url(url.strip())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        await store.remove_peer(canonical)

    run(go)
    click.echo(f"peer {url} removed")


@peers.command("vouched")
def peers_vouched() -> None:
    """Origin keys that peers vouched for: origin, key id, who vouched, since when, trusted now."""
    from federation import store
    from federation.identity import key_id_for

    async def go(db: Database, settings: Settings) -> list[str]:
        pinned = await store.pinned_keys()
        trusted = await store.trusted_vouchers()
        lines = []
        for row in await store.vouched_keys():
            if row.origin in pinned:
                state = "not used: the origin is a peer, its own key is pinned"
            elif row.vouched_by in trusted:
                state = "trusted"
            else:
                state = "not used: the peer is not trusted to relay"
            lines.append(f"{row.origin}  key {key_id_for(row.public_key)}  vouched by {row.vouched_by} "
                         f"since {_when(row.created_at)}  [{state}]")
        return lines or ["no vouched keys"]

    click.echo("\n".join(run(go)))


@peers.command("forget-key")
@click.argument("origin")
def peers_forget_key(origin: str) -> None:
    """Drop the keys vouched for ORIGIN (its held-back entries wait for the next vouching peer)."""
    from federation import store
    from federation.identity import normalize_node_url

    async def go(db: Database, settings: Settings) -> int:
        try:
            canonical = normalize_node_url(origin.strip())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        dropped = await store.forget_vouched_key(canonical)
        if not dropped:
            raise click.ClickException(f"no key is vouched for {canonical} (see: exchange peers vouched)")
        return dropped

    dropped = run(go)
    click.echo(f"{dropped} vouched key(s) for {origin} dropped")


@click.command()
@click.option("--peer", "peer_url", default=None, help="Pull from this peer only (default: all).")
def sync(peer_url: str | None) -> None:
    """Pull from one or all peers now; exits with status 1 when a peer failed."""
    from federation import store
    from federation.identity import normalize_node_url

    async def go(db: Database, settings: Settings) -> list[tuple[str, bool]]:
        federation = _federation(db, settings)
        try:
            if peer_url:
                try:
                    chosen = [await store.get_peer(normalize_node_url(peer_url.strip()))]
                except ValueError as exc:
                    raise click.ClickException(str(exc)) from None
            else:
                chosen = await store.list_peers()
            if not chosen:
                return [("no peers yet (exchange peers add URL)", True)]
            syncer = federation.syncer()
            results: list[tuple[str, bool]] = []
            for peer in chosen:
                progress, update = progress_bar(f"Pulling from {peer.url}")
                with progress:
                    report = await syncer.sync_peer(
                        peer, lambda done, remaining, update=update: update(done, done + (remaining or 0)))
                if report.ok:
                    text = (f"{peer.url}: {report.applied} applied, {report.skipped} already held, "
                            f"{report.pending} held back, {report.released} released from pending")
                else:
                    text = f"{peer.url}: FAILED [{report.error_code}] {report.error}"
                results.append((text, report.ok))
            return results
        finally:
            await federation.http.aclose()

    results = run(go)
    for text, ok in results:
        click.echo(text, err=not ok)
    if not all(ok for _, ok in results):
        sys.exit(1)


def commands() -> list[click.Command]:
    return [peers, sync]
