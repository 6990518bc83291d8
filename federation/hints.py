"""Telling peers "I have news": the signed hint after a write, so they pull in seconds.

Peers pull every `EXCHANGE_SYNC_INTERVAL` seconds (300 by default); a hint
(`POST /federation/hint`, signed like every request between nodes) makes the
receiving node's scheduler pull from us at once. The `Hinter` is a catalogue
listener: after a local write commits it notes which peers may see the entry
(`public`: every peer, `network`: member peers, `local` and drafts: none),
and after a received batch the same for the entries it brought, leaving out
their origin (which has them), so that a chain C -> B -> A carries an entry
from C to A within seconds. Hints are debounced (`DEBOUNCE`: the writes of a
moment make one hint per peer), sent from a background task (never blocking
the write), to at most `PARALLEL` peers at once, each given at most
`TIMEOUT` seconds; a peer that does not answer is logged and otherwise left
alone (its scheduled pull still comes). A node whose scheduler is off
(`EXCHANGE_SYNC_INTERVAL=0`, federation operated by hand) sends no hints.
Only the process that made a write hints: another worker learns of it from
the change feed, which does not hint again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from prometheus_client import Counter

from exchange.db import Database
from exchange.errors import ExchangeError
from exchange.models import Entry, Peer
from federation.client import PeerClient

log = logging.getLogger("exchange.federation")

DEBOUNCE = 0.1  # seconds a hint waits for more writes to go with it
PARALLEL = 8  # hints in flight at once
TIMEOUT = 5.0  # seconds one hint may take
HINTS = Counter("exchange_federation_hints", "Hints sent to peers, by peer and outcome (accepted or failed)",
                ["peer", "outcome"])
RECEIVED = Counter("exchange_federation_hints_received", "Signed hints accepted from peers, by peer", ["peer"])


class Hinter:
    """Sends the hints of one node (in `Federation.hinter`)."""

    def __init__(self, database: Database, client: Callable[[], PeerClient], own_origin: str,
                 *, debounce: float = DEBOUNCE, enabled: bool = True) -> None:
        self.database = database
        self.client = client
        self.own_origin = own_origin
        self.debounce = debounce
        self.enabled = enabled
        self._due: dict[str, set[str]] = {}  # visibility -> origins of the entries waiting
        self._task: asyncio.Task[None] | None = None
        self.sent = 0  # hints peers accepted (for tests and metrics)
        self.failed = 0

    async def on_entry(self, entry: Entry) -> None:
        """Catalogue listener: a version was stored here (written or received)."""
        if not self.enabled or entry.visibility not in ("public", "network"):
            return
        self._due.setdefault(entry.visibility, set()).add(entry.origin_node)
        if self._task is None:
            self._task = asyncio.ensure_future(self._send_soon())

    async def _send_soon(self) -> None:
        try:
            while self._due:
                await asyncio.sleep(self.debounce)
                due, self._due = self._due, {}
                with self.database.bound():
                    peers = list(await Peer.all().order_by("url").values_list("url", "member"))
                targets = _targets(due, [(str(url), bool(member)) for url, member in peers])
                if targets:
                    await self._send(targets)
        except Exception:  # the next write hints again; scheduled pulls still come
            log.exception("sending hints to peers failed")
        finally:
            self._task = None

    async def _send(self, urls: list[str]) -> None:
        client = self.client()
        client.deadline = min(client.deadline, TIMEOUT)
        limit = asyncio.Semaphore(PARALLEL)

        async def one(url: str) -> None:
            async with limit:
                try:
                    await client.hint(url)
                except ExchangeError as exc:
                    self.failed += 1
                    HINTS.labels(url, "failed").inc()
                    log.info("hint to %s not delivered: %s [%s]", url, exc.message, exc.code)
                else:
                    self.sent += 1
                    HINTS.labels(url, "accepted").inc()

        await asyncio.gather(*(one(url) for url in urls))

    async def settle(self) -> None:
        """Wait until the hints due now are sent (tests)."""
        while self._task is not None:
            await asyncio.shield(self._task)

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        self._due.clear()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _targets(due: dict[str, set[str]], peers: list[tuple[str, bool]]) -> list[str]:
    """The peers to hint (pure), given the origins of the waiting entries by visibility and the
    peers as (url, member): a peer is hinted when an entry it may see (public: every peer,
    network: member peers) comes from another node than itself."""
    return [url for url, member in peers
            if any(origin != url for visibility, origins in due.items() if visibility == "public" or member
                   for origin in origins)]
