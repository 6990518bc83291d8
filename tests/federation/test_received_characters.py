"""A received envelope holding a character XML 1.0 forbids is held back with the reason,
never stored: the receiving node's feeds stay well-formed (its origin signed it, so only
the origin can mend it)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from exchange.envelope import canonical_json
from exchange.models import Entry, PendingEnvelope, Revision
from tests.conftest import PG_URL
from tests.federation.fednodes import close_all, connect, make_nodes


@pytest.mark.skipif(bool(PG_URL), reason="PostgreSQL cannot store U+0000 in jsonb, not even to tamper")
async def test_a_nul_byte_from_a_peer_is_held_back_with_the_reason(tmp_path: Path) -> None:
    a, b = await make_nodes(tmp_path, "ab")
    await connect(a, b)
    good = await b.publish("Gut")
    bad = await b.publish("Schlecht")

    async def tamper() -> None:  # b signs a title no catalogue would take (an older node did)
        rev = await Revision.get(entry__uid=uuid.UUID(bad))
        rev.envelope = {**rev.envelope, "entry": {**rev.envelope["entry"], "title": "Schl\x00echt"}}
        rev.signature = b.node.key.sign(canonical_json(rev.envelope))
        await rev.save()
    await b.run(tamper)
    report = await a.pull(b)
    assert report.error_code in ("", None), report
    held = await a.entries()
    assert good in held and bad not in held

    async def pending() -> list[str]:
        return [p.reason for p in await PendingEnvelope.filter(entry_uid=bad)]
    (reason,) = await a.run(pending)
    assert reason.startswith("envelope.entry.title contains U+0000 (NUL) at position 5"), reason
    feed = await a.federation.http.get(a.url + "/feeds/all.atom")
    ET.fromstring(feed.content)
    titles = await a.run(lambda: Entry.all().values_list("title", flat=True))
    assert titles == ["Gut"]
    await close_all(a, b)
