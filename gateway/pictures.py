"""Uploaded pictures: recognised by their bytes (PNG, JPEG), checked for size, streamed upstream."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from starlette.datastructures import UploadFile

from gateway.upstream import PictureFile

# How much of a file's head is read to recognise it. A PNG needs 24 bytes; a JPEG's size sits in its SOFn
# segment, after the APPn segments (EXIF with its thumbnail, ICC profile, XMP), each at most 64 KiB. Camera
# EXIF blocks are typically well under that, but EXIF, ICC and XMP together can pass 64 KiB; 256 KiB
# finds the SOF of nearly every photo while keeping the read small. A JPEG whose SOF lies beyond it is
# treated as unrecognised.
SNIFF_BYTES = 256 * 1024

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"
# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
# Markers that stand alone, without a length: TEM and RST0..RST7.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_SOS = 0xDA
_JPEG_EOI = 0xD9

_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg"}
_EXTENSIONS = {"png": ".png", "jpeg": ".jpg"}
# Extensions replaced rather than kept when the name is normalised to the sniffed kind.
_PICTURE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".avif"}
)


@dataclass(frozen=True)
class PictureFormat:
    """What a picture's header says it is."""

    kind: Literal["png", "jpeg"]
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self.kind]

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.kind]


class UnsupportedPicture(ValueError):
    """The upload's bytes are neither a PNG nor a JPEG whose size could be read."""


def sniff_picture(head: bytes) -> PictureFormat | None:
    """The format and size from the first SNIFF_BYTES of a file, or None when it is no PNG or JPEG."""
    head = head[:SNIFF_BYTES]
    if head.startswith(_PNG_SIGNATURE):
        return _sniff_png(head)
    if head.startswith(_JPEG_SOI):
        return _sniff_jpeg(head)
    return None


def within_limits(fmt: PictureFormat, long_side: int = 3840, short_side: int = 2160) -> bool:
    """True when the picture fits long_side x short_side in either orientation.

    Landscape 3840x2160 and portrait 2160x3840 both fit; 3841x2160 and 4000x3000 do not.
    """
    return max(fmt.width, fmt.height) <= long_side and min(fmt.width, fmt.height) <= short_side


async def sniff_upload(upload: UploadFile) -> PictureFormat | None:
    """Sniff an upload from its start, leaving it rewound."""
    await upload.seek(0)
    try:
        head = await upload.read(SNIFF_BYTES)
    finally:
        await upload.seek(0)
    return sniff_picture(head)


# A JPEG's end-of-image marker may be followed by padding or by data some cameras append; it must lie
# within this many bytes of the end.
JPEG_TAIL_BYTES = 64 * 1024
_PNG_IEND = b"IEND"
# The smallest JPEG that holds a picture (markers, one quantisation and Huffman table, a scan) is over
# a hundred bytes; shorter files that end in FF D9 are no picture.
JPEG_MIN_BYTES = 107


async def truncation_of_upload(upload: UploadFile, fmt: PictureFormat) -> str | None:
    """Why the picture's bytes stop before the picture does, or None when it is whole: a PNG's chunks
    must run, length by length, to its IEND chunk with image data before it; a JPEG must end with its
    end-of-image marker. Leaves the upload rewound."""
    try:
        if fmt.kind == "png":
            return await _png_truncation(upload)
        return await _jpeg_truncation(upload)
    finally:
        await upload.seek(0)


async def _png_truncation(upload: UploadFile) -> str | None:
    offset = len(_PNG_SIGNATURE)
    seen_data = False
    while True:
        await upload.seek(offset)
        header = await upload.read(8)
        if len(header) < 8:
            return "its PNG chunks end before the IEND chunk"
        length, kind = int.from_bytes(header[:4], "big"), header[4:]
        seen_data = seen_data or kind == b"IDAT"
        offset += 8 + length + 4  # header, data, CRC
        await upload.seek(offset - 1)
        if len(await upload.read(1)) < 1:
            return f"its {kind.decode('latin-1')} chunk is cut short"
        if kind == _PNG_IEND:
            return None if seen_data else "it has no image data (IDAT) before its IEND chunk"


async def _jpeg_truncation(upload: UploadFile) -> str | None:
    size = _file_size(upload)
    await upload.seek(max(0, size - JPEG_TAIL_BYTES))
    tail = await upload.read(JPEG_TAIL_BYTES)
    if size < JPEG_MIN_BYTES or b"\xff\xd9" not in tail:
        return "its JPEG data ends before the end-of-image marker"
    return None


async def sha256_of_upload(upload: UploadFile, *, chunk_size: int = 64 * 1024) -> str:
    """The hex SHA-256 of the whole upload, read in chunks, leaving it rewound."""
    digest = hashlib.sha256()
    await upload.seek(0)
    try:
        while chunk := await upload.read(chunk_size):
            digest.update(chunk)
    finally:
        await upload.seek(0)
    return digest.hexdigest()


async def picture_file_from_upload(
    upload: UploadFile, *, filename: str | None = None, chunk_size: int = 64 * 1024
) -> PictureFile:
    """A PictureFile that streams the upload's spooled file, one chunk in memory at a time.

    The content type comes from the sniffed bytes and the filename's extension is made to match them
    (the upstream checks extensions). Raises UnsupportedPicture when the bytes are no PNG or JPEG.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    fmt = await sniff_upload(upload)
    if fmt is None:
        raise UnsupportedPicture("the file is neither a PNG nor a JPEG picture")
    return PictureFile(
        filename=picture_filename(filename if filename is not None else upload.filename, fmt),
        content_type=fmt.content_type,
        data=_UploadChunks(upload, chunk_size),
        size=_file_size(upload),
    )


def picture_filename(name: str | None, fmt: PictureFormat) -> str:
    """The name's last path part, with its picture extension replaced by (or else followed by) fmt's."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    stem, dot, extension = base.rpartition(".")
    if dot and f".{extension.lower()}" in _PICTURE_EXTENSIONS:
        base = stem
    return (base or "picture") + fmt.extension


class _UploadChunks:
    """The upload's bytes from its start, re-readable: each iteration rewinds first and again at the end."""

    def __init__(self, upload: UploadFile, chunk_size: int) -> None:
        self._upload = upload
        self._chunk_size = chunk_size

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        await self._upload.seek(0)
        try:
            while chunk := await self._upload.read(self._chunk_size):
                yield chunk
        finally:
            await self._upload.seek(0)


def _file_size(upload: UploadFile) -> int:
    # The spooled file is the truth (UploadFile.size is only set by the form parser); seeking reads nothing.
    file = upload.file
    position = file.tell()
    try:
        return file.seek(0, os.SEEK_END)
    finally:
        file.seek(position)


def _sniff_png(head: bytes) -> PictureFormat | None:
    # The IHDR chunk must come first: length 13, type, then width and height as big-endian uint32.
    if len(head) < 24 or head[8:16] != b"\x00\x00\x00\x0dIHDR":
        return None
    width = int.from_bytes(head[16:20], "big")
    height = int.from_bytes(head[20:24], "big")
    if not (0 < width < 2**31 and 0 < height < 2**31):
        return None
    return PictureFormat("png", width, height)


def _sniff_jpeg(head: bytes) -> PictureFormat | None:
    at = len(_JPEG_SOI)
    while True:
        if at >= len(head) or head[at] != 0xFF:
            return None
        # Any number of 0xFF fill bytes may precede a marker.
        while at < len(head) and head[at] == 0xFF:
            at += 1
        if at >= len(head):
            return None
        marker = head[at]
        at += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0x00, _JPEG_SOS, _JPEG_EOI, 0xD8):
            # Stuffed zero, scan data or the end before any frame header: not a picture we can size.
            return None
        if at + 2 > len(head):
            return None
        length = int.from_bytes(head[at : at + 2], "big")
        if length < 2:
            return None
        if marker in _JPEG_SOF:
            # Length, sample precision, then height and width as big-endian uint16.
            if length < 7 or at + 7 > len(head):
                return None
            height = int.from_bytes(head[at + 3 : at + 5], "big")
            width = int.from_bytes(head[at + 5 : at + 7], "big")
            # A zero height is defined later by a DNL segment, out of reach of the header.
            if width == 0 or height == 0:
                return None
            return PictureFormat("jpeg", width, height)
        at += length
