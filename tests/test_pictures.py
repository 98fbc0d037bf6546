"""Pictures are recognised by their header bytes, checked for size and streamed upstream chunk by chunk."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

import pytest
from starlette.datastructures import UploadFile

from gateway.pictures import (
    SNIFF_BYTES,
    PictureFormat,
    UnsupportedPicture,
    picture_file_from_upload,
    picture_filename,
    sha256_of_upload,
    sniff_picture,
    within_limits,
)
from gateway.upstream import Credentials, UpstreamClient, UpstreamConfig
from tests.support.gateway import AK, PROJECT, SK
from tests.support.http import loopback
from tests.support.servers import LoopbackServer


def png(width: int, height: int) -> bytes:
    """A complete, decodable greyscale PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(width) for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


APP0_JFIF = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
DQT = segment(0xDB, b"\x00" + bytes(range(1, 65)))
# A DHT table (marker C4, inside the SOF range) whose bytes would read as 300x400 if taken for a frame.
DHT = segment(0xC4, b"\x00\x01\x90\x01\x2c" + bytes(12) + b"\x00")
SOS_AND_SCAN = (
    segment(0xDA, b"\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00") + b"\x12\x34\xff\x00\x56" + b"\xff\xd9"
)


def exif(size: int) -> bytes:
    return segment(0xE1, b"Exif\x00\x00" + b"MM\x00\x2a" + bytes(size))


def jpeg(width: int, height: int, *, sof: int = 0xC0, before_frame: bytes = APP0_JFIF + DQT) -> bytes:
    frame = segment(sof, struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01")
    return b"\xff\xd8" + before_frame + frame + DHT + SOS_AND_SCAN


# Sniffing


def test_png_size_is_read_from_its_ihdr() -> None:
    assert sniff_picture(png(640, 480)) == PictureFormat("png", 640, 480)
    assert sniff_picture(png(1, 3000)) == PictureFormat("png", 1, 3000)


def test_baseline_jpeg_size_is_read_from_its_frame_header() -> None:
    assert sniff_picture(jpeg(1920, 1080)) == PictureFormat("jpeg", 1920, 1080)


def test_progressive_and_other_frame_kinds_are_recognised() -> None:
    for sof in (0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
        assert sniff_picture(jpeg(800, 600, sof=sof)) == PictureFormat("jpeg", 800, 600), hex(sof)


def test_a_large_exif_block_before_the_frame_is_skipped() -> None:
    photo = jpeg(4032, 3024, before_frame=exif(40_000) + APP0_JFIF + segment(0xFE, b"a comment") + DQT)

    assert sniff_picture(photo) == PictureFormat("jpeg", 4032, 3024)


def test_tables_before_the_frame_are_not_taken_for_a_frame() -> None:
    assert sniff_picture(jpeg(1280, 720, before_frame=DHT + DQT)) == PictureFormat("jpeg", 1280, 720)


def test_fill_bytes_and_standalone_markers_are_skipped() -> None:
    before = b"\xff\xff\xff" + APP0_JFIF + b"\xff\xd0" + b"\xff\x01" + b"\xff\xff" + DQT

    assert sniff_picture(jpeg(320, 240, before_frame=before)) == PictureFormat("jpeg", 320, 240)


def test_a_jpeg_with_exif_and_icc_past_64_kib_is_still_read() -> None:
    metadata = exif(60_000) + segment(0xE2, b"ICC_PROFILE\x00" + bytes(10_000))
    photo = jpeg(1024, 768, before_frame=metadata)
    assert photo.index(b"\xff\xc0") > 64 * 1024

    found = sniff_picture(photo)
    assert found is not None and (found.width, found.height) == (1024, 768)


def test_a_jpeg_whose_frame_lies_beyond_the_sniffed_head_is_unrecognised() -> None:
    icc_parts = b"".join(
        segment(0xE2, b"ICC_PROFILE\x00" + bytes(60_000)) for _ in range(SNIFF_BYTES // 60_000)
    )
    photo = jpeg(1024, 768, before_frame=exif(60_000) + icc_parts)
    assert photo.index(b"\xff\xc0") > SNIFF_BYTES

    assert sniff_picture(photo) is None


def test_other_formats_are_unrecognised() -> None:
    others = {
        "gif": b"GIF89a\x80\x02\xe0\x01\xf0\x00\x00" + bytes(64),
        "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + bytes(64),
        "bmp": b"BM" + struct.pack("<IHHIIii", 70, 0, 0, 54, 40, 640, 480) + bytes(64),
        "tiff": b"II*\x00\x08\x00\x00\x00" + bytes(64),
        "pdf": b"%PDF-1.7\n" + bytes(64),
        "empty": b"",
        "text": b"definitely not a picture, even if it is named face.png",
    }
    for name, data in others.items():
        assert sniff_picture(data) is None, name


def test_broken_headers_are_unrecognised() -> None:
    broken = {
        "png without ihdr": b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IDAT" + bytes(13),
        "png of zero width": png(1, 1)[:16] + struct.pack(">II", 0, 10) + png(1, 1)[24:],
        "jpeg scan before frame": b"\xff\xd8" + APP0_JFIF + SOS_AND_SCAN,
        "jpeg end before frame": b"\xff\xd8" + APP0_JFIF + b"\xff\xd9",
        "jpeg garbage between segments": b"\xff\xd8" + APP0_JFIF + b"\x00" + jpeg(10, 10)[2:],
        "jpeg segment length below two": b"\xff\xd8\xff\xe0\x00\x01" + bytes(32),
        "jpeg with height from a later DNL": jpeg(640, 0),
    }
    for name, data in broken.items():
        assert sniff_picture(data) is None, name


def test_every_truncation_of_a_picture_header_is_unrecognised() -> None:
    for whole in (png(64, 48), jpeg(64, 48, before_frame=exif(300) + DQT)):
        needed = 24 if whole.startswith(b"\x89PNG") else whole.index(b"\xff\xc0") + 9
        for end in range(needed):
            assert sniff_picture(whole[:end]) is None, end
        assert sniff_picture(whole[:needed]) is not None


def random_inputs(seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    valid = [png(33, 17), jpeg(33, 17), jpeg(33, 17, sof=0xC2, before_frame=exif(100) + DQT)]
    for _ in range(count):
        choice = rng.randrange(4)
        if choice == 0:
            yield rng.randbytes(rng.randrange(200))
        elif choice == 1:
            yield rng.choice([b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff"]) + rng.randbytes(
                rng.randrange(200)
            )
        else:
            mutated = bytearray(rng.choice(valid))
            for _ in range(rng.randrange(1, 6)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            yield bytes(mutated[: rng.randrange(len(mutated) + 1)])


def test_random_and_mangled_bytes_never_crash_and_never_claim_an_empty_picture() -> None:
    for data in random_inputs(seed=20240611, count=20_000):
        found = sniff_picture(data)
        assert found is None or (found.width > 0 and found.height > 0)


# Size limits


def test_up_to_4k_in_either_orientation_is_within_limits() -> None:
    assert within_limits(PictureFormat("png", 3840, 2160))
    assert within_limits(PictureFormat("jpeg", 2160, 3840))
    assert within_limits(PictureFormat("jpeg", 1, 1))


def test_beyond_4k_is_not_within_limits() -> None:
    assert not within_limits(PictureFormat("png", 3841, 2160))
    assert not within_limits(PictureFormat("png", 2160, 3841))
    assert not within_limits(PictureFormat("jpeg", 3840, 2161))
    assert not within_limits(PictureFormat("jpeg", 4000, 3000))
    assert not within_limits(PictureFormat("jpeg", 2200, 2200))


# Uploads


Spooled = Callable[[bytes, str | None], UploadFile]


@pytest.fixture
def spooled_upload() -> Iterator[Spooled]:
    """Uploads as the form parser makes them, each closed when the test ends."""
    files: list[tempfile.SpooledTemporaryFile[bytes]] = []

    def upload(data: bytes, filename: str | None) -> UploadFile:
        # A small spool limit puts the file on disk, as the form parser does for large uploads.
        file = tempfile.SpooledTemporaryFile(max_size=1024)
        files.append(file)
        file.write(data)
        file.seek(0)
        return UploadFile(cast(BinaryIO, file), filename=filename)

    yield upload
    for file in files:
        file.close()


def large_jpeg(size: int) -> bytes:
    head = jpeg(1920, 1080)[:-2]
    return head + random.Random(5).randbytes(size - len(head) - 2) + b"\xff\xd9"


async def test_an_upload_is_streamed_in_chunks_that_reassemble_to_its_exact_bytes(
    spooled_upload: Spooled,
) -> None:
    data = large_jpeg(300_000)
    upload = spooled_upload(data, "holiday.PNG")
    upload.file.seek(1234)

    picture = await picture_file_from_upload(upload, chunk_size=16 * 1024)

    assert picture.content_type == "image/jpeg"
    assert picture.filename == "holiday.jpg"
    assert picture.size == len(data)
    assert not isinstance(picture.data, bytes)
    chunks = [chunk async for chunk in picture.data]
    assert b"".join(chunks) == data
    assert max(len(chunk) for chunk in chunks) == 16 * 1024
    assert len(chunks) == -(-len(data) // (16 * 1024))
    assert await upload.read() == data


async def test_an_upload_is_read_only_as_far_as_it_is_consumed(spooled_upload: Spooled) -> None:
    upload = spooled_upload(large_jpeg(200_000), "face.jpeg")
    picture = await picture_file_from_upload(upload, chunk_size=10_000)
    assert not isinstance(picture.data, bytes)

    stream = aiter(picture.data)
    first = await anext(stream)

    assert len(first) == 10_000
    assert upload.file.tell() == 10_000
    await stream.aclose()  # type: ignore[attr-defined]
    assert upload.file.tell() == 0


async def test_an_upload_can_be_streamed_twice(spooled_upload: Spooled) -> None:
    data = png(300, 200)
    picture = await picture_file_from_upload(spooled_upload(data, None), chunk_size=100)
    assert not isinstance(picture.data, bytes)

    first = b"".join([chunk async for chunk in picture.data])
    second = b"".join([chunk async for chunk in picture.data])

    assert first == second == data
    assert picture.filename == "picture.png"
    assert picture.content_type == "image/png"


async def test_the_given_filename_wins_and_takes_the_sniffed_extension(spooled_upload: Spooled) -> None:
    picture = await picture_file_from_upload(spooled_upload(png(8, 8), "upload.bin"), filename="me.JPG")

    assert picture.filename == "me.png"


def test_filenames_are_normalised_to_the_sniffed_kind() -> None:
    as_png, as_jpeg = PictureFormat("png", 1, 1), PictureFormat("jpeg", 1, 1)

    assert picture_filename("C:\\fakepath\\me.jpeg", as_jpeg) == "me.jpg"
    assert picture_filename("photos/cat.webp", as_png) == "cat.png"
    assert picture_filename("archive.v2", as_png) == "archive.v2.png"
    assert picture_filename("头像.png", as_jpeg) == "头像.jpg"
    assert picture_filename("", as_jpeg) == "picture.jpg"
    assert picture_filename(".png", as_png) == "picture.png"
    assert picture_filename("bad\r\nname.jpg", as_png) == "badname.png"


async def test_an_upload_that_is_no_picture_is_refused(spooled_upload: Spooled) -> None:
    with pytest.raises(UnsupportedPicture, match="neither a PNG nor a JPEG"):
        await picture_file_from_upload(spooled_upload(b"GIF89a" + bytes(100), "cat.png"))


async def test_sha256_of_an_upload_covers_all_of_it_and_rewinds(spooled_upload: Spooled) -> None:
    data = large_jpeg(150_000)
    upload = spooled_upload(data, "a.jpg")

    assert await sha256_of_upload(upload) == hashlib.sha256(data).hexdigest()
    assert await upload.read() == data


async def test_an_in_memory_upload_streams_too() -> None:
    data = png(40, 30)
    upload = UploadFile(io.BytesIO(data), filename="x.png")

    picture = await picture_file_from_upload(upload, chunk_size=7)

    assert picture.size == len(data)
    assert not isinstance(picture.data, bytes)
    assert b"".join([chunk async for chunk in picture.data]) == data


async def test_the_upstream_receives_exactly_the_uploaded_bytes(
    spooled_upload: Spooled, emulator: LoopbackServer
) -> None:
    data = large_jpeg(500_000)
    upload = spooled_upload(data, "portrait.jpeg")
    config = UpstreamConfig(endpoint=emulator.url, project_id=PROJECT, auth_mode="aksk", ak=AK, sk=SK)

    async with UpstreamClient(config) as client:
        created = await client.create_picture_modeling_job(
            Credentials(),
            file=await picture_file_from_upload(upload),
            style_id="system_male_001",
            name="Portrait",
        )
    async with loopback(emulator.url) as admin:
        received = (await admin.get(f"/_emulator/uploads/{created['job_id']}")).json()

    assert received == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "filename": "portrait.jpg",
        "content_type": "image/jpeg",
    }
