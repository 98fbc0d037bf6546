"""Demo data: the reference examples and a few dozen varied jobs for every token and AK."""

from __future__ import annotations

import httpx

from gateway.emulator import create_app
from tests.emulator.conftest import AK, SK, V1, make_config
from tests.emulator.signing import sign

EXAMPLES = (
    "/2d-digital-human-videos/26f06524-4f75-4b3a-a853-b649a21aaf66",
    "/digital-human-training-manage/user/jobs/efc5300ecdba4ea48d1ff13a9d907bc0",
    "/digital-human/stylized/picture-modelings/6eb78b2f-6ba2-4b59-bb07-d2fc372f8d39",
)
SINCE = {"create_since": "2000-01-01T00:00:00Z", "limit": "100"}


async def test_every_token_and_ak_has_the_examples() -> None:
    app = create_app(make_config())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu") as client:
        for path in EXAMPLES:
            for token in ("token-a", "token-b"):
                assert (await client.get(f"{V1}{path}", headers={"X-Auth-Token": token})).status_code == 200
            uri, headers = sign("GET", f"{V1}{path}", ak=AK, sk=SK)
            assert (await client.get(uri, headers=headers)).status_code == 200


async def test_seeded_jobs_are_varied_and_the_same_on_every_start() -> None:
    bodies = []
    for _ in range(2):
        app = create_app(make_config())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu") as client:
            videos = await client.get(
                f"{V1}/digital-human-videos", params=SINCE, headers={"X-Auth-Token": "token-a"}
            )
            training = await client.get(
                f"{V1}/digital-human-training-manage/user/jobs",
                params={"limit": "100"},
                headers={"X-Auth-Token": "token-a"},
            )
            bodies.append((videos.json(), training.json()))
    (videos, training), (videos_again, _) = bodies
    assert videos["count"] >= 36 and training["count"] >= 30
    assert {job["job_id"] for job in videos["jobs"]} == {job["job_id"] for job in videos_again["jobs"]}
    assert {"SUCCEED", "FAILED", "CANCELED", "WAITING", "PROCESSING"} <= {
        job["state"] for job in videos["jobs"]
    }
    assert {"2D_DIGITAL_HUMAN_VIDEO", "PHOTO_DIGITAL_HUMAN_VIDEO"} == {
        job["job_type"] for job in videos["jobs"]
    }
    assert {"JOB_SUCCESS", "WAIT_FILE_UPLOAD", "TRAIN_FAILED"} <= {job["state"] for job in training["jobs"]}
    assert len({job["batch_name"] for job in training["jobs"] if "batch_name" in job}) >= 3


async def test_seeding_can_be_turned_off() -> None:
    app = create_app(make_config(seed_demo_data=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://emu") as client:
        response = await client.get(
            f"{V1}/digital-human-videos", params=SINCE, headers={"X-Auth-Token": "token-a"}
        )
    assert response.json() == {"count": 0, "jobs": []}
