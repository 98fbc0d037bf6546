"""A multipart/form-data body written as a stream, so an uploaded file is never copied whole."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass, field

_CRLF = b"\r\n"


@dataclass(frozen=True)
class PictureFile:
    """A picture to upload: its bytes, or an async iterator of chunks with an optional known size."""

    filename: str
    content_type: str
    data: bytes | AsyncIterable[bytes] = field(repr=False)
    size: int | None = None

    def __post_init__(self) -> None:
        if any(ch in self.content_type for ch in "\r\n"):
            raise ValueError("content_type must not contain line breaks")
        if isinstance(self.data, bytes):
            if self.size is not None and self.size != len(self.data):
                raise ValueError("size does not match the length of data")

    @property
    def length(self) -> int | None:
        if isinstance(self.data, bytes):
            return len(self.data)
        return self.size


class MultipartBody:
    """Text fields first, then one file part; iterate it once to send it."""

    def __init__(self, fields: Sequence[tuple[str, str]], file_field: str, file: PictureFile) -> None:
        self.boundary = secrets.token_hex(16)
        self._file = file
        self._head = b"".join(self._field_part(name, value) for name, value in fields) + self._part_head(
            f'form-data; name="{_quoted(file_field)}"; filename="{_quoted(file.filename)}"', file.content_type
        )
        self._tail = _CRLF + f"--{self.boundary}--".encode() + _CRLF

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int | None:
        """The exact body size when the file's size is known (else the body goes chunked)."""
        length = self._file.length
        return None if length is None else len(self._head) + length + len(self._tail)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._head
        data = self._file.data
        if isinstance(data, bytes):
            yield data
        else:
            sent = 0
            async for chunk in data:
                sent += len(chunk)
                if self._file.size is not None and sent > self._file.size:
                    raise ValueError("the picture is longer than its declared size")
                if chunk:
                    yield chunk
            if self._file.size is not None and sent != self._file.size:
                raise ValueError("the picture is shorter than its declared size")
        yield self._tail

    def _field_part(self, name: str, value: str) -> bytes:
        return self._part_head(f'form-data; name="{_quoted(name)}"', None) + value.encode() + _CRLF

    def _part_head(self, disposition: str, content_type: str | None) -> bytes:
        lines = [f"--{self.boundary}", f"Content-Disposition: {disposition}"]
        if content_type:
            lines.append(f"Content-Type: {content_type}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _quoted(text: str) -> str:
    # Browsers' (HTML5) escaping for names in Content-Disposition; servers decode it the same way.
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
