"""Work a sync can do away from the database, on a second core: signatures and Markdown.

Pulling a large catalogue is CPU bound in the pulling process: every
envelope's Ed25519 signature is checked and every received body is rendered
and sanitised here (a peer's HTML is never trusted). Both are pure functions
of what the peer sent, so while one page is written, a worker process can do
them for the next page. `work_for` lists what a page needs (pure), `compute`
does it (pure; this is what the worker runs), and `Prepared` holds the answers
keyed by their complete inputs, so the sync uses an answer only where its own
inputs are exactly those (the key it would check with, the signed bytes, the
signature, the Markdown) and computes anything else itself: what the worker
did can make a sync faster, never different. `Helper` owns the worker
process: started on demand, and if it cannot start or fails, the sync goes
on without it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from content import Rendered, render
from federation.identity import verify
from federation.protocol import SignedEnvelope

__all__ = [
    "NOTHING",
    "RENDERED_FIELDS",
    "Helper",
    "Prepared",
    "RenderInput",
    "SignatureCheck",
    "Work",
    "compute",
    "prepared",
    "render_input",
    "work_for",
]

log = logging.getLogger("exchange.federation")

# (public key, signed bytes, signature) and (Markdown body, further Markdown parts)
SignatureCheck = tuple[str, bytes, str]
RenderInput = tuple[str, tuple[str, ...]]
# The entry fields besides the body that go into its search text (see store._render).
RENDERED_FIELDS = ("what_worked", "what_did_not", "transfer_preconditions")


@dataclass(frozen=True)
class Work:
    """What one page needs computed."""

    checks: tuple[SignatureCheck, ...] = ()
    bodies: tuple[RenderInput, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """Answers for a page, looked up by their complete inputs."""

    valid: frozenset[SignatureCheck] = frozenset()
    rendered: Mapping[RenderInput, Rendered] = field(default_factory=dict)

    def verified(self, public_key: str, signed: SignedEnvelope) -> bool:
        """Whether this exact signature was found valid for this exact key and bytes."""
        return (public_key, signed.canonical, signed.signature) in self.valid

    def rendering(self, markdown: str, more: tuple[str, ...]) -> Rendered | None:
        return self.rendered.get((markdown, more))


NOTHING = Prepared()


def render_input(envelope: Mapping[str, object]) -> RenderInput | None:
    """The Markdown of a received entry as storing it will render it; None if not plain strings.

    Mirrors `entry_values` (these fields are stored uncut, a missing one as
    ""); where it does not match, the lookup misses and the body is rendered
    inline, so this is about speed only.
    """
    body = envelope.get("entry")
    if envelope.get("type") != "entry" or not isinstance(body, dict):
        return None
    parts = [body.get(name) for name in ("body_markdown", *RENDERED_FIELDS)]
    if not all(part is None or isinstance(part, str) for part in parts):
        return None
    texts = tuple(str(part or "") for part in parts)
    return texts[0], texts[1:]


def work_for(envelopes: Iterable[SignedEnvelope], key_for: Callable[[str], str | None]) -> Work:
    """The signature checks and renderings a page needs; `key_for(origin)` names the likely key."""
    checks: list[SignatureCheck] = []
    bodies: dict[RenderInput, None] = {}
    for signed in envelopes:
        key = key_for(signed.origin)
        if key is not None:
            checks.append((key, signed.canonical, signed.signature))
        wanted = render_input(signed.envelope)
        if wanted is not None:
            bodies[wanted] = None
    return Work(tuple(checks), tuple(bodies))


def compute(work: Work) -> tuple[list[bool], list[tuple[str, str]]]:
    """Check each signature and render each body (the worker's job; pure)."""
    valid = [verify(key, data, signature) for key, data, signature in work.checks]
    rendered = [render(markdown, more) for markdown, more in work.bodies]
    return valid, [(r.html, r.text) for r in rendered]


def prepared(work: Work, answers: tuple[list[bool], list[tuple[str, str]]]) -> Prepared:
    """Pair the worker's answers with our own copy of the inputs."""
    valid, rendered = answers
    if len(valid) != len(work.checks) or len(rendered) != len(work.bodies):
        return NOTHING
    return Prepared(
        frozenset(check for check, ok in zip(work.checks, valid, strict=True) if ok is True),
        {body: Rendered(str(html), str(text)) for body, (html, text) in zip(work.bodies, rendered, strict=True)},
    )


class Helper:
    """One worker process that runs `compute`; never makes a sync fail.

    Started with a warm-up job; until that has come back (the worker imports
    the parser and the crypto library first), and after any failure,
    `prepare` answers NOTHING at once and the sync does the work itself.
    """

    def __init__(self, start_method: str = "spawn") -> None:
        self._start_method = start_method
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._warm: concurrent.futures.Future[tuple[list[bool], list[tuple[str, str]]]] | None = None
        self.failed = False

    def start(self) -> None:
        if self._pool is not None or self.failed:
            return
        try:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context(self._start_method)
            )
            self._warm = self._pool.submit(compute, Work())
        except Exception as exc:  # noqa: BLE001 - no process for us (limits, platform): work inline
            self._fail(exc)

    @property
    def ready(self) -> bool:
        warm = self._warm
        if self.failed or warm is None or not warm.done():
            return False
        if warm.cancelled() or warm.exception() is not None:
            self._fail(warm.exception() or RuntimeError("warm-up cancelled"))
            return False
        return True

    async def prepare(self, work: Work) -> Prepared:
        """The worker's answers for `work`, or NOTHING if it is not (or no longer) up."""
        if not self.ready or self._pool is None or not (work.checks or work.bodies):
            return NOTHING
        try:
            answers = await asyncio.wrap_future(self._pool.submit(compute, work))
        except Exception as exc:  # noqa: BLE001 - a dead or broken worker: carry on without it
            self._fail(exc)
            return NOTHING
        return prepared(work, answers)

    def _fail(self, exc: BaseException) -> None:
        if not self.failed:
            log.warning("sync helper process unavailable, working in one process: %s", exc)
        self.failed = True

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
