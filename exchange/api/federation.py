"""GraphQL face of federation: the signed change feed that peers pull, and peer state.

`changes(after, first)` answers only known peers whose RFC 9421 signature on
the request verifies against the key pinned for them; the request must be a
GET, so that the signature covers all of it (the query travels in the URL).
The answer is signed in turn, bound to that request (`httpsig.sign_response`).
`peers` shows operators (an API token with the `admin` scope) the state of
each peer. Resolvers stay thin: the feed itself lives in `federation.feed`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from exchange.errors import FederationError, PermissionDeniedError, UnauthenticatedError
from exchange.models import Peer as PeerRow
from federation.errors import BadSignatureError
from federation.feed import authenticate_peer
from federation.httpsig import sign_response


@strawberry.type(description="One stored entry version in a node's change feed.")
class ChangeItem:
    seq: int = strawberry.field(description=(
        "The item's position in this page (1, 2, ...). Since protocol 2 not the node's sequence "
        "number, which would reveal rows the peer may not see."))
    envelope: JSON = strawberry.field(description="The envelope exactly as its origin signed it.")
    signature: str = strawberry.field(description="The origin's Ed25519 signature (base64url).")


@strawberry.type(description="The public key a node vouches for, for an origin whose entries it relays.")
class VouchedKey:
    origin: str = strawberry.field(description="Base URL of a node whose entries this page relays.")
    public_key: str = strawberry.field(description="That node's Ed25519 public key, as the answering node pinned it.")


@strawberry.type(description="One page of a node's change feed.")
class ChangeBatch:
    items: list[ChangeItem] = strawberry.field(description="Signed entry versions, in feed order.")
    next_cursor: str = strawberry.field(description="Pass as `after` to read on.")
    has_more: bool = strawberry.field(description="More rows follow this page.")
    vouched_keys: list[VouchedKey] = strawberry.field(description="Keys of the relayed origins on this page.")
    remaining: int = strawberry.field(description=(
        "Rows after this page that the asking peer may receive (public, for members also network; "
        "withdrawals not counted); 0 when none."))


@strawberry.type(description="A peer node and the state of pulling from it (operators only).")
class PeerState:
    url: str = strawberry.field(description="The peer's base URL (its id).")
    name: str = strawberry.field(description="The peer's name, from its descriptor.")
    key_id: str = strawberry.field(description="Id of the pinned public key.")
    member: bool = strawberry.field(description="Same alliance: receives network entries.")
    trust_relayed: bool = strawberry.field(description="Entries of other origins it relays are accepted.")
    last_success: datetime | None = strawberry.field(description="When the last pull succeeded.")
    last_attempt: datetime | None = strawberry.field(description="When the last pull was tried.")
    next_attempt: datetime | None = strawberry.field(description="When the scheduler pulls next.")
    last_error: str = strawberry.field(description="Why the last pull failed (empty after a success).")
    failures: int = strawberry.field(description="Failed pulls in a row.")
    entries_behind: int | None = strawberry.field(description="Feed rows the peer had that we have not pulled yet.")


def _public_url(node_url: str, request: Any) -> str:
    query = str(request.url.query)
    return node_url + str(request.url.path) + (f"?{query}" if query else "")


@strawberry.type
class Query:
    @strawberry.field(description=(
        "This node's change feed after a cursor, for peer nodes only: the request must be a "
        "GET signed with RFC 9421 HTTP message signatures by a known peer."
    ))
    async def changes(self, info: Info, after: str | None = None, first: int = 100) -> ChangeBatch:
        services = info.context.services
        federation = services.extra.get("federation")
        request = info.context.request
        if federation is None or request is None:
            raise FederationError("this node does not serve a change feed")
        if request.method != "GET":
            raise BadSignatureError("read the change feed with a signed GET request", reason="malformed")
        url = _public_url(federation.key.node_url, request)
        peer = await authenticate_peer("GET", url, request.headers, b"", federation.clock())
        page = await federation.feed.read(peer, after, first)
        headers = request.headers
        key, now = federation.key, federation.clock()
        info.context.sign_response = lambda status, body: sign_response(
            status, body, "GET", url, headers, key, now)
        batch = page.batch
        return ChangeBatch(
            items=[ChangeItem(seq=i.seq, envelope=i.envelope.envelope, signature=i.envelope.signature)
                   for i in batch.items],
            next_cursor=batch.next_cursor,
            has_more=batch.has_more,
            vouched_keys=[VouchedKey(origin=o, public_key=k) for o, k in sorted(batch.vouched_keys.items())],
            remaining=page.remaining,
        )

    @strawberry.field(description="Peers of this node and the state of pulling from each (admin token).")
    async def peers(self, info: Info) -> list[PeerState]:
        actor = info.context.actor
        if actor is None or actor.publisher is None:
            raise UnauthenticatedError("peers are shown to operators only: send an admin token")
        if "admin" not in actor.scopes:
            raise PermissionDeniedError("peers are shown to tokens with the admin scope only")
        return [
            PeerState(
                url=p.url, name=p.name, key_id=p.key_id, member=p.member, trust_relayed=p.trust_relayed,
                last_success=p.last_success, last_attempt=p.last_attempt, next_attempt=p.next_attempt,
                last_error=p.last_error, failures=p.failures, entries_behind=p.entries_behind,
            )
            for p in await PeerRow.all().order_by("url")
        ]
