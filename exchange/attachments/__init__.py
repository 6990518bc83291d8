"""Attachments: the files an entry carries (evaluation reports, photos, templates).

A file is stored once by its SHA-256 digest however many entries use it, in a
`BlobStore` (`store`: a folder beside the database by default; `s3`: an
S3-compatible bucket when EXCHANGE_S3_ENDPOINT is set). Its type is
decided from its bytes (`kinds`, `checks`): PDF, PNG, JPEG, WebP, ODT, ODS,
DOCX, XLSX and CSV are allowed; SVG, HTML, polyglots, ZIP bombs, truncated
and damaged files are refused with a message that says why. Images are
re-encoded without their metadata (`images`); the text of PDFs and office
documents is kept for search and the people they name are removed
(`scrub`, `pdfmeta`) or, where that cannot be done safely, reported
(`documents`). `service.Attachments` adds, removes and finds them for the
faces; `received` lists the files of entries received from peers and takes
their bytes once fetched (`federation.blobs` fetches them); `models` holds
the tables.
"""

from exchange.attachments.index import reindex
from exchange.attachments.kinds import (
    IMAGES,
    INLINE,
    KINDS,
    FileTooLargeError,
    Limits,
    RefusedFileError,
    label,
)
from exchange.attachments.models import Attachment, AttachmentBlob
from exchange.attachments.received import accept_blob, missing
from exchange.attachments.s3 import S3Config, S3Store, store_for
from exchange.attachments.service import (
    AttachmentInput,
    AttachmentInputError,
    Attachments,
    attachments_of,
)
from exchange.attachments.store import (
    BlobStore,
    FileStore,
    Incoming,
    StoreUnavailableError,
    is_digest,
)

__all__ = [
    "IMAGES", "INLINE", "KINDS", "Attachment", "AttachmentBlob", "AttachmentInput", "AttachmentInputError", "Attachments",
    "BlobStore", "FileStore", "FileTooLargeError", "Incoming", "Limits", "RefusedFileError", "S3Config",
    "S3Store", "StoreUnavailableError", "accept_blob", "attachments_of", "is_digest", "label", "missing",
    "reindex", "store_for",
]
