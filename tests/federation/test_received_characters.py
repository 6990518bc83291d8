"""A received envelope holding a character XML 1.0 forbids is held back with the reason,
never stored: the receiving node's feeds stay well-formed (its origin signed it, so only
the origin can mend it)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.envelope import canonical_json
from exchange.models import Entry, PendingEnvelope, Revision
from federation.envelopes import _MAYBE_FORBIDDEN, character_problem
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


# Text as envelopes hold it: mostly letters, with the characters XML 1.0 forbids, the
# allowed control characters, backslashes and letters that follow them in escapes mixed in.
_TEXT = st.text(st.one_of(
    st.characters(blacklist_categories=("Cs",)),
    st.sampled_from("\x00\x01\x08\x0b\x0c\x0e\x1f\t\n\r\x7f\ufffe\uffff\ufffd\\bfu0"),
), max_size=12)
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), _TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_the_search_of_the_signed_bytes_finds_what_the_walk_finds(value: object) -> None:
    """The sync looks for forbidden characters in an envelope's canonical JSON first and walks
    the envelope only where that search finds something: the answer is always the walk's."""
    envelope = {"entry": value}
    assert character_problem(envelope, canonical_json(envelope)) == character_problem(envelope)


@pytest.mark.parametrize("text", ["a\x00b", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff"])
def test_each_forbidden_character_is_found_in_the_signed_bytes(text: str) -> None:
    for envelope in ({"entry": {"title": text}}, {"entry": {text: "key"}}, {"entry": {"keywords": ["x", text]}}):
        assert _MAYBE_FORBIDDEN.search(canonical_json(envelope)), envelope
        assert character_problem(envelope, canonical_json(envelope)) is not None
