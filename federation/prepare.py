"""Work a sync can do away from the database, on a second core: signatures and texts.

Pulling a large catalogue is CPU bound in the pulling process: every
envelope's Ed25519 signature is checked, and every received body is rendered
and sanitised here (a peer's HTML is never trusted) and turned into search
terms. These are pure functions of what the peer sent, so while one page is
written, a worker process can do them for the next page. `work_for` lists
what a page needs (pure), `compute` does it (pure; this is what the worker
runs), and `Prepared` holds the answers keyed by their complete inputs, so
the sync uses an answer only where its own inputs are exactly those (the key
it would check with, the signed bytes, the signature; the Markdown, title,
summary, keywords, topic labels and language) and computes anything else
itself: what the worker did can make a sync faster, never different. The
inline path uses the same `entry_texts`. `Helper` owns the worker process:
started on demand, and if it cannot start or fails, the sync goes on without
it; the worker dies with the process that started it, even when that one is
killed with SIGKILL (`die_with_parent`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from content import render, search_document_of_text
from federation.identity import verify
from federation.protocol import SignedEnvelope

__all__ = [
    "NOTHING",
    "RENDERED_FIELDS",
    "Done",
    "Helper",
    "Jobs",
    "Prepared",
    "SignatureCheck",
    "TextInput",
    "Work",
    "chunks",
    "compute",
    "entry_texts",
    "prepared",
    "text_input",
    "text_input_of",
    "work_for",
]

log = logging.getLogger("exchange.federation")

# (public key, signed bytes, signature)
SignatureCheck = tuple[str, bytes, str]
# (Markdown body, further Markdown parts, title, summary, keywords and topic labels, language)
TextInput = tuple[str, tuple[str, ...], str, str, tuple[str, ...], str]
# The entry fields besides the body that go into its search text.
RENDERED_FIELDS = ("what_worked", "what_did_not", "transfer_preconditions")
# Entry column limits as `envelopes.entry_values` applies them.
_TITLE_LIMIT, _LANGUAGE_LIMIT = 300, 2


def text_input(
    markdown: str, more: Sequence[str], title: str, summary: str, keywords: Iterable[Any],
    labels: Iterable[str], language: str,
) -> TextInput:
    """What an entry's HTML and search terms are made of, as one hashable value."""
    return (markdown, tuple(more), title, summary, (*(str(k) for k in keywords), *labels), language)


def entry_texts(given: TextInput) -> tuple[str, str]:
    """The page HTML and the search terms of an entry (one Markdown parse where it can)."""
    markdown, more, title, summary, keywords, language = given
    rendered = render(markdown, more)
    return rendered.html, search_document_of_text(title, summary, rendered.text, keywords, language)


@dataclass(frozen=True)
class Work:
    """What one page needs computed."""

    checks: tuple[SignatureCheck, ...] = ()
    texts: tuple[TextInput, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """Answers for a page, looked up by their complete inputs."""

    valid: frozenset[SignatureCheck] = frozenset()
    texts: Mapping[TextInput, tuple[str, str]] = field(default_factory=dict)

    def verified(self, public_key: str, signed: SignedEnvelope) -> bool:
        """Whether this exact signature was found valid for this exact key and bytes."""
        return (public_key, signed.canonical, signed.signature) in self.valid

    def entry_texts(self, given: TextInput) -> tuple[str, str] | None:
        """`entry_texts(given)` if it was made for exactly these inputs."""
        return self.texts.get(given)


NOTHING = Prepared()


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    return "" if value is None else value if isinstance(value, str) else None


def text_input_of(envelope: Mapping[str, Any], labels: Mapping[str, tuple[str, str]]) -> TextInput | None:
    """The texts a received entry will be stored with, read as `entry_values` reads them.

    `labels` maps topic slugs to (German, English) label. None for tombstones
    and for fields of the wrong type. Where this differs from what storing
    sees (a topic renamed meanwhile, say), the lookup misses and the entry is
    done inline: this is about speed only.
    """
    body = envelope.get("entry")
    if envelope.get("type") != "entry" or not isinstance(body, dict):
        return None
    parts = [_text(body, name) for name in ("body_markdown", *RENDERED_FIELDS, "title", "summary", "language")]
    keywords, slugs = body.get("keywords") or [], body.get("topics") or []
    if any(part is None for part in parts) or not isinstance(keywords, list) or not isinstance(slugs, list):
        return None
    markdown, worked, did_not, preconditions, title, summary, language = (str(p) for p in parts)
    topics = [labels[s] for s in dict.fromkeys(slugs[:10]) if isinstance(s, str) and s in labels]
    return text_input(
        markdown, (worked, did_not, preconditions), title[:_TITLE_LIMIT], summary, keywords,
        [de for de, _ in topics] + [en for _, en in topics], language[:_LANGUAGE_LIMIT] or "de",
    )


def work_for(
    envelopes: Iterable[SignedEnvelope],
    key_for: Callable[[str], str | None],
    labels: Mapping[str, tuple[str, str]],
) -> Work:
    """The signature checks and texts a page needs; `key_for(origin)` names the likely key."""
    checks: list[SignatureCheck] = []
    texts: dict[TextInput, None] = {}
    for signed in envelopes:
        key = key_for(signed.origin)
        if key is not None:
            checks.append((key, signed.canonical, signed.signature))
        wanted = text_input_of(signed.envelope, labels)
        if wanted is not None:
            texts[wanted] = None
    return Work(tuple(checks), tuple(texts))


Answers = tuple[list[bool], list[tuple[str, str]]]


def compute(work: Work) -> Answers:
    """Check each signature and make each entry's texts (the worker's job; pure)."""
    valid = [verify(key, data, signature) for key, data, signature in work.checks]
    return valid, [entry_texts(given) for given in work.texts]


def prepared(work: Work, answers: Answers) -> Prepared:
    """Pair the worker's answers with our own copy of the inputs."""
    valid, texts = answers
    if len(valid) != len(work.checks) or len(texts) != len(work.texts):
        return NOTHING
    return Prepared(
        frozenset(check for check, ok in zip(work.checks, valid, strict=True) if ok is True),
        {given: (str(html), str(terms)) for given, (html, terms) in zip(work.texts, texts, strict=True)},
    )


CHUNK = 50  # entries per job: small enough that the sync never waits long for a running one


def chunks(work: Work, size: int = CHUNK) -> list[Work]:
    """`work` in jobs of about `size` signatures and `size` texts each."""
    count = max(1, -(-max(len(work.checks), len(work.texts)) // size))
    step_c, step_t = -(-len(work.checks) // count), -(-len(work.texts) // count)
    return [Work(work.checks[i * step_c:(i + 1) * step_c], work.texts[i * step_t:(i + 1) * step_t])
            for i in range(count)]


class Jobs:
    """A page's work handed to the helper in jobs; `collect` takes what the helper has done.

    The sync takes jobs the worker has not started from the end, one at a
    time, and does them here with the same `compute` while the worker goes on
    from the start; where they meet (a job the worker has, or had), the rest
    is awaited. So neither side idles while the other is behind. (Cancelling
    every job first matters: awaited one by one, each job is started by the
    time the loop reaches it.) With `wait`, all jobs are awaited.
    """

    def __init__(self, jobs: list[tuple[Work, concurrent.futures.Future[Answers]]],
                 on_error: Callable[[BaseException], None]) -> None:
        self._jobs = jobs
        self._on_error = on_error

    async def collect(self, wait: bool = False) -> Prepared:
        valid: set[SignatureCheck] = set()
        texts: dict[TextInput, tuple[str, str]] = {}
        mine: dict[int, Answers] = {}
        for work, future in reversed(self._jobs) if not wait else ():
            if not future.cancel():  # the worker has this one, and the ones before it
                break
            mine[id(future)] = compute(work)
        for work, future in self._jobs:
            try:
                answers = mine[id(future)] if id(future) in mine else await asyncio.wrap_future(future)
            except Exception as exc:  # noqa: BLE001 - a dead or broken worker: carry on without it
                self._on_error(exc)
                continue
            part = prepared(work, answers)
            valid |= part.valid
            texts.update(part.texts)
        return Prepared(frozenset(valid), texts) if valid or texts else NOTHING


class Done(Jobs):
    """Answers that are already there (a helper that works in this process, in tests)."""

    def __init__(self, answers: Prepared) -> None:
        super().__init__([], lambda exc: None)
        self._answers = answers

    async def collect(self, wait: bool = False) -> Prepared:
        return self._answers


# The worker makes many short-lived objects (tokens) and keeps few: collect cycles rarely.
WORKER_GC_THRESHOLD = (20_000, 50, 100)


def _worker_started(parent: int) -> None:
    gc.set_threshold(*WORKER_GC_THRESHOLD)
    die_with_parent(parent)


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_WATCH_SECONDS = 1.0


def die_with_parent(parent: int, every: float = PARENT_WATCH_SECONDS, kernel: bool = True) -> None:
    """End this (worker) process when `parent` dies, even by SIGKILL.

    On Linux the kernel sends SIGKILL when the parent goes (prctl
    PR_SET_PDEATHSIG; strictly, when the parent's thread that started us
    ends: the sync starts the helper from the event loop's thread, and a
    helper lost that way only makes the sync work in one process).
    Everywhere (and alone with `kernel=False`), a daemon thread checks every
    `every` seconds whether we were handed to another parent, and exits if
    so. A parent gone before either was set up is caught at once.
    """
    if kernel and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class Helper:
    """One worker process that runs `compute`; never makes a sync fail.

    Started with a warm-up job; until that has come back (the worker imports
    the parser and the crypto library first), and after any failure,
    `submit` hands nothing over and the sync does the work itself.
    """

    def __init__(self, start_method: str = "spawn") -> None:
        self._start_method = start_method
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._warm: concurrent.futures.Future[Answers] | None = None
        self.failed = False

    def start(self) -> None:
        if self._pool is not None or self.failed:
            return
        try:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context(self._start_method),
                initializer=_worker_started, initargs=(os.getpid(),),
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

    def submit(self, work: Work) -> Jobs:
        """Hand `work` to the worker in jobs; nothing if it is not (or no longer) up."""
        if not self.ready or self._pool is None or not (work.checks or work.texts):
            return Done(NOTHING)
        jobs: list[tuple[Work, concurrent.futures.Future[Answers]]] = []
        try:
            for part in chunks(work):
                jobs.append((part, self._pool.submit(compute, part)))
        except Exception as exc:  # noqa: BLE001 - a broken pool: carry on without it
            self._fail(exc)
        return Jobs(jobs, self._fail)

    def _fail(self, exc: BaseException) -> None:
        if not self.failed:
            log.warning("sync helper process unavailable, working in one process: %s", exc)
        self.failed = True

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
