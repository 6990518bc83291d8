"""Blobs in an S3-compatible object store (any S3 API: Ceph, MinIO, Garage, a cloud's).

`S3Store` is a `BlobStore`: each blob is the object `<prefix><digest>` in one
bucket. It talks S3 through the MinIO Python SDK (signature V4, multipart
uploads for large files, connection reuse); its calls block, so each runs in
a worker thread and a download is read chunk by chunk, never whole.
Uploads still arrive in a local folder first (`workdir`), where they are
checked and hashed before they are put into the bucket under their digest;
the local file is removed once the object is written.

A store that cannot be reached, or refuses the node's keys, raises
`StoreUnavailableError` naming the endpoint and what it answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error

from exchange.attachments.store import CHUNK, BlobStore, FileStore, StoreUnavailableError, is_digest

if TYPE_CHECKING:
    from exchange.settings import Settings

MISSING = frozenset({"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"})


@dataclass(frozen=True)
class S3Config:
    """Where the bucket is and how to sign in to it (EXCHANGE_S3_* settings)."""

    endpoint: str  # http(s)://host[:port]
    bucket: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"
    prefix: str = ""  # put before each digest, e.g. "exchange/"


class S3Store:
    """Blobs as objects `<prefix><digest>` in an S3 bucket; uploads wait in `workdir` until checked."""

    def __init__(self, config: S3Config, workdir: Path) -> None:
        parts = urlsplit(config.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"the S3 endpoint must be http(s)://host[:port], not {config.endpoint!r}")
        self.config = config
        self._workdir = workdir
        self._where = f"{config.endpoint.rstrip('/')}/{config.bucket}"
        pool = urllib3.PoolManager(  # reused across requests; retries are the caller's to decide
            num_pools=4, maxsize=16, timeout=urllib3.Timeout(connect=10, read=60),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        )
        self.client = Minio(parts.netloc, access_key=config.access_key, secret_key=config.secret_key,
                            secure=parts.scheme == "https", region=config.region, http_client=pool)

    @property
    def workdir(self) -> Path:
        self._workdir.mkdir(parents=True, exist_ok=True)
        return self._workdir

    def _key(self, digest: str) -> str:
        if not is_digest(digest):
            raise ValueError(f"not a SHA-256 digest: {digest!r}")
        return self.config.prefix + digest

    def _unavailable(self, doing: str, exc: Exception) -> StoreUnavailableError:
        reason = f"{exc.code}: {exc.message}" if isinstance(exc, S3Error) else f"{type(exc).__name__}: {exc}"
        return StoreUnavailableError(f"the object store {self._where} could not {doing} ({reason})")

    async def _call(self, doing: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._unavailable(doing, exc) from exc

    async def check(self) -> None:
        """Raise `StoreUnavailableError` unless the bucket can be reached with the node's keys."""
        if not await self._call("be reached", self.client.bucket_exists, self.config.bucket):
            raise StoreUnavailableError(f"the object store {self.config.endpoint} has no bucket "
                                        f"{self.config.bucket!r} (EXCHANGE_S3_BUCKET); create it first")

    async def size(self, digest: str) -> int | None:
        key = self._key(digest)
        try:
            found = await asyncio.to_thread(self.client.stat_object, self.config.bucket, key)
        except S3Error as exc:
            if exc.code in MISSING:
                return None
            raise self._unavailable("tell a file's size", exc) from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._unavailable("tell a file's size", exc) from exc
        return int(found.size) if found.size is not None else None

    async def has(self, digest: str) -> bool:
        return await self.size(digest) is not None

    async def put(self, path: Path, digest: str) -> None:
        key = self._key(digest)
        await self._call("store a file", self.client.fput_object, self.config.bucket, key, str(path),
                         content_type="application/octet-stream", part_size=16 * 1024 * 1024)
        path.unlink(missing_ok=True)

    async def read(self, digest: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        key = self._key(digest)
        if end is not None and end <= start:
            return
        length = 0 if end is None else end - start  # 0: to the end
        response = await self._call("read a file", self.client.get_object, self.config.bucket, key,
                                    offset=start, length=length)
        chunks: Iterator[bytes] = response.stream(CHUNK)
        try:
            while True:
                chunk = await self._call("read a file", next, chunks, b"")
                if not chunk:
                    break
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def delete(self, digest: str) -> None:
        await self._call("delete a file", self.client.remove_object, self.config.bucket, self._key(digest))


def store_for(settings: Settings) -> BlobStore:
    """The blob store the settings name: an S3 bucket when EXCHANGE_S3_ENDPOINT is set, else the folder."""
    folder = settings.resolved_attachments_dir
    if not settings.s3_endpoint:
        return FileStore(folder)
    config = S3Config(endpoint=settings.s3_endpoint, bucket=settings.s3_bucket, access_key=settings.s3_access_key,
                      secret_key=settings.s3_secret_key, region=settings.s3_region, prefix=settings.s3_prefix)
    return S3Store(config, folder / "incoming")
