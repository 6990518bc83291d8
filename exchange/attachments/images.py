"""Images are decoded completely and re-encoded without their metadata.

A photo of a town hall taken with a phone carries the position where it was
taken (EXIF GPS) and the camera's serial number: personal data. Decoding the
whole image also finds a truncated or damaged file, and writing the pixels
anew drops whatever else rode along (comments, XMP, appended data). The
orientation EXIF asked for is applied to the pixels first, so the picture
stays upright. What was found is reported in `notes`.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from exchange.attachments.kinds import JPEG, PNG, WEBP, Inspected, Limits, RefusedFileError

FORMATS = {"png": ("PNG", PNG), "jpeg": ("JPEG", JPEG), "webp": ("WEBP", WEBP)}
GPS_IFD = 0x8825
EXIF_IFD = 0x8769
SERIALS = {0xA431: "camera serial number", 0xA435: "lens serial number", 0xC62F: "camera serial number"}
PERSONAL = {0x013B: "artist", 0x8298: "copyright", 0x010F: "camera make", 0x0110: "camera model"}


def found_metadata(image: Image.Image) -> list[dict[str, Any]]:
    """What of a person's data the image's metadata held (before it is removed)."""
    notes: list[dict[str, Any]] = []
    exif = image.getexif()
    if exif.get_ifd(GPS_IFD):
        notes.append({"removed": "gps"})
    inner = exif.get_ifd(EXIF_IFD)
    for tag, what in SERIALS.items():
        if inner.get(tag) or exif.get(tag):
            notes.append({"removed": "serial", "what": what})
            break
    for tag, what in PERSONAL.items():
        if exif.get(tag):
            notes.append({"removed": "exif", "what": what})
    if any(k in image.info for k in ("xmp", "XML:com.adobe.xmp")):
        notes.append({"removed": "xmp"})
    if image.info.get("comment"):
        notes.append({"removed": "comment"})
    return notes


def reencode(path: Path, workdir: Path, kind: str, limits: Limits) -> Inspected:
    """Decode the image at `path` completely and write its pixels anew into `workdir`."""
    fmt, media_type = FORMATS[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=[fmt]) as image:
                width, height = image.size
                if width * height > limits.image_pixels:
                    raise RefusedFileError(
                        f"the image has {width} × {height} pixels, more than the "
                        f"{limits.image_pixels // 1_000_000} million allowed", "too_many_pixels")
                notes = found_metadata(image)
                image.load()
                upright = ImageOps.exif_transpose(image) or image
                return _write(upright, workdir, fmt, media_type, notes)
        except RefusedFileError:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise RefusedFileError(f"the image cannot be read as {fmt}: {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            reason = "it is truncated" if "truncated" in str(exc) else f"it is damaged ({exc})"
            raise RefusedFileError(f"the {fmt} image cannot be decoded: {reason}") from None


def _write(image: Image.Image, workdir: Path, fmt: str, media_type: str,
           notes: list[dict[str, Any]]) -> Inspected:
    transparency = image.info.get("transparency")
    image.info = {}  # nothing of the original's metadata is written back
    options: dict[str, Any] = {}
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        options = {"quality": 90}
    elif fmt == "WEBP":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.mode or transparency is not None else "RGB")
        options = {"quality": 90}
    elif transparency is not None:
        options = {"transparency": transparency}
    with tempfile.NamedTemporaryFile(dir=workdir, prefix="image-", delete=False) as handle:
        image.save(handle, fmt, **options)
    return Inspected(media_type, Path(handle.name), notes=notes)
