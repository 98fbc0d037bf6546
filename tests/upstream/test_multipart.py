"""The upload body: fields then the file, streamed without copying the file, sized when it can be."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.upstream.multipart import MultipartBody, PictureFile


async def collect(body: MultipartBody) -> list[bytes]:
    return [chunk async for chunk in body]


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_the_file_bytes_are_passed_through_not_copied() -> None:
    picture = b"\x89PNG" + b"\0" * 1000
    body = MultipartBody([("style_id", "s1")], "file", PictureFile("p.png", "image/png", picture))

    sent = await collect(body)

    assert any(chunk is picture for chunk in sent)
    assert body.content_length == sum(len(chunk) for chunk in sent)


async def test_layout_is_fields_first_then_the_file_then_the_closing_boundary() -> None:
    body = MultipartBody(
        [("style_id", "s1"), ("name", "模型")], "file", PictureFile("a.jpg", "image/jpeg", b"JPG")
    )
    b = body.boundary

    assert (
        b"".join(await collect(body))
        == (
            f'--{b}\r\nContent-Disposition: form-data; name="style_id"\r\n\r\ns1\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="name"\r\n\r\n模型\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\nJPG\r\n--{b}--\r\n"
        ).encode()
    )
    assert body.content_type == f"multipart/form-data; boundary={b}"


async def test_quotes_and_line_breaks_in_a_filename_are_escaped() -> None:
    body = MultipartBody([], "file", PictureFile('a"b\r\nc.png', "image/png", b"x"))

    head = (await collect(body))[0]

    assert b'filename="a%22b%0D%0Ac.png"' in head


async def test_a_stream_of_unknown_size_has_no_length() -> None:
    body = MultipartBody([], "file", PictureFile("p.png", "image/png", chunks(b"ab", b"", b"cd")))

    assert body.content_length is None
    assert b"abcd" in b"".join(await collect(body))


async def test_a_stream_of_declared_size_is_checked_against_it() -> None:
    exact = MultipartBody([], "file", PictureFile("p.png", "image/png", chunks(b"ab", b"cd"), size=4))
    assert exact.content_length is not None
    assert len(b"".join(await collect(exact))) == exact.content_length

    longer = MultipartBody([], "file", PictureFile("p.png", "image/png", chunks(b"ab", b"cde"), size=4))
    with pytest.raises(ValueError, match="longer"):
        await collect(longer)

    shorter = MultipartBody([], "file", PictureFile("p.png", "image/png", chunks(b"ab"), size=4))
    with pytest.raises(ValueError, match="shorter"):
        await collect(shorter)


def test_a_content_type_cannot_smuggle_headers() -> None:
    with pytest.raises(ValueError, match="line breaks"):
        PictureFile("p.png", "image/png\r\nX-Evil: 1", b"x")


def test_bytes_with_a_wrong_size_are_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        PictureFile("p.png", "image/png", b"abc", size=4)


def test_repr_leaves_out_the_picture() -> None:
    assert "secret-pixels" not in repr(PictureFile("p.png", "image/png", b"secret-pixels"))
