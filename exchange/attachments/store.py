"""Where attachment bytes live: one small interface, keyed by SHA-256 digest.

`BlobStore` is all the rest of the exchange knows of storage: whether a
digest is held, its size, reading a range of it, putting a checked file in
under its digest, deleting it. `FileStore` keeps blobs in a folder beside the
database (`ab/cd/abcd…`); `s3.S3Store` keeps them in an S3-compatible
bucket. A file enters the folder by an atomic rename from the store's own
`incoming/` folder, so a reader never sees half a file and an interrupted
upload leaves nothing behind but its temporary file, which is removed.

`Incoming` receives an upload chunk by chunk: it writes to a temporary file,
hashes as it goes, and refuses the chunk that takes it past its limit, so a
2 GB upload is stopped at the limit, never buffered in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

from exchange.attachments.kinds import FileTooLargeError
from exchange.errors import ExchangeError

DIGEST = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 256 * 1024


def is_digest(value: str) -> bool:
    return bool(DIGEST.match(value))


class StoreUnavailableError(ExchangeError):
    """The blob store cannot be reached or refuses the node (an object store that is down)."""

    code = "STORE_UNAVAILABLE"


class BlobStore(Protocol):
    """Blobs by SHA-256 digest (64 lower-case hex characters)."""

    @property
    def workdir(self) -> Path:
        """A folder for files on their way in (on the same file system as the blobs)."""
        ...

    async def has(self, digest: str) -> bool: ...

    async def size(self, digest: str) -> int | None: ...

    async def put(self, path: Path, digest: str) -> None:
        """Take the file at `path` (whose SHA-256 the caller checked) as the blob `digest`."""
        ...

    def read(self, digest: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes start..end (end exclusive; None: to the end), in chunks."""
        ...

    async def delete(self, digest: str) -> None: ...


class FileStore:
    """Blobs as files in a folder: `root/ab/cd/<digest>`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def workdir(self) -> Path:
        path = self.root / "incoming"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise ValueError(f"not a SHA-256 digest: {digest!r}")
        return self.root / digest[:2] / digest[2:4] / digest

    async def has(self, digest: str) -> bool:
        return self._path(digest).is_file()

    async def size(self, digest: str) -> int | None:
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            return None

    async def put(self, path: Path, digest: str) -> None:
        target = self._path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o640)
        os.replace(path, target)  # atomic: readers see the whole file or none

    async def read(self, digest: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        # Opening, seeking and the first read are one trip to a worker thread: most files are
        # smaller than a chunk, and every trip costs a thread switch on a busy machine.
        handle, chunk = await asyncio.to_thread(self._open_at, digest, start, end)
        try:
            left = None if end is None else end - start - len(chunk)
            while chunk:
                yield chunk
                if left is not None and left <= 0:
                    break
                chunk = await asyncio.to_thread(handle.read, CHUNK if left is None else min(CHUNK, left))
                if left is not None:
                    left -= len(chunk)
        finally:
            handle.close()

    def _open_at(self, digest: str, start: int, end: int | None) -> tuple[BinaryIO, bytes]:
        handle = self._path(digest).open("rb")
        try:
            handle.seek(start)
            return handle, handle.read(CHUNK if end is None else min(CHUNK, end - start))
        except BaseException:
            handle.close()
            raise

    async def delete(self, digest: str) -> None:
        try:
            self._path(digest).unlink()
        except FileNotFoundError:
            pass


class Incoming:
    """A file being received: written to the store's workdir, hashed, limited."""

    def __init__(self, workdir: Path, limit: int, too_large: str) -> None:
        self.limit = limit
        self.too_large = too_large  # the message when the limit is passed
        handle = tempfile.NamedTemporaryFile(dir=workdir, prefix="upload-", delete=False)  # noqa: SIM115 - closed by finish or discard
        self._handle = handle
        self.path = Path(handle.name)
        self.size = 0
        self._hash = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise FileTooLargeError(self.too_large)
        self._hash.update(chunk)
        self._handle.write(chunk)

    def finish(self) -> str:
        """Close the file; its SHA-256 digest."""
        self._handle.close()
        return self._hash.hexdigest()

    def discard(self) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
