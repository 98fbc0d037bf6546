"""Builds the emulator's Starlette app: upstream routes, admin routes, front door and life span."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.emulator import routes_picture, routes_training, routes_video
from gateway.emulator.admin import admin_routes
from gateway.emulator.clock import Clock, system_clock
from gateway.emulator.config import EmulatorConfig
from gateway.emulator.emulator import Emulator
from gateway.emulator.errors import MSSError, code_for_status, error_response
from gateway.emulator.middleware import EmulatorMiddleware
from gateway.emulator.seed import seed_demo_jobs

V1 = "/v1/{project_id}"
VIDEOS = f"{V1}/2d-digital-human-videos"
PHOTO_VIDEOS = f"{V1}/photo-digital-human-videos"
TRAINING = f"{V1}/digital-human-training-manage/user/jobs"
PICTURES = f"{V1}/digital-human/stylized/picture-modelings"

upstream_routes: list[BaseRoute] = [
    Route(
        f"{V1}/digital-human-videos", routes_video.list_videos, methods=["GET"], name="ListDigitalHumanVideo"
    ),
    Route(VIDEOS, routes_video.create_2d_video, methods=["POST"], name="Create2DDigitalHumanVideo"),
    Route(
        f"{VIDEOS}/{{job_id}}", routes_video.show_2d_video, methods=["GET"], name="Show2DDigitalHumanVideo"
    ),
    Route(
        f"{VIDEOS}/{{job_id}}/cancel",
        routes_video.cancel_2d_video,
        methods=["POST"],
        name="Cancel2DDigitalHumanVideo",
    ),
    Route(
        PHOTO_VIDEOS, routes_video.create_photo_video, methods=["POST"], name="CreatePhotoDigitalHumanVideo"
    ),
    Route(
        f"{PHOTO_VIDEOS}/{{job_id}}",
        routes_video.show_photo_video,
        methods=["GET"],
        name="ShowPhotoDigitalHumanVideo",
    ),
    Route(
        f"{PHOTO_VIDEOS}/{{job_id}}/cancel",
        routes_video.cancel_photo_video,
        methods=["POST"],
        name="CancelPhotoDigitalHumanVideo",
    ),
    Route(TRAINING, routes_training.list_training_jobs, methods=["GET"], name="List2dModelTrainingJob"),
    Route(TRAINING, routes_training.create_training_job, methods=["POST"], name="Create2dModelTrainingJob"),
    Route(
        f"{TRAINING}/{{job_id}}",
        routes_training.show_training_job,
        methods=["GET"],
        name="Show2dModelTrainingJob",
    ),
    Route(
        f"{TRAINING}/{{job_id}}",
        routes_training.update_training_job,
        methods=["PUT"],
        name="Update2dModelTrainingJob",
    ),
    Route(
        f"{TRAINING}/{{job_id}}",
        routes_training.delete_training_job,
        methods=["DELETE"],
        name="Delete2dModelTrainingJob",
    ),
    Route(
        f"{TRAINING}/{{job_id}}/command",
        routes_training.run_training_command,
        methods=["POST"],
        name="Execute2dModelTrainingCommandByUser",
    ),
    Route(PICTURES, routes_picture.create_picture_job, methods=["POST"], name="CreatePictureModelingJob"),
    Route(
        f"{PICTURES}-by-url",
        routes_picture.create_picture_job_by_url,
        methods=["POST"],
        name="CreatePictureModelingByUrlJob",
    ),
    Route(PICTURES, routes_picture.list_picture_jobs, methods=["GET"], name="ListPictureModelingJobs"),
    Route(
        f"{PICTURES}/{{job_id}}",
        routes_picture.show_picture_job,
        methods=["GET"],
        name="ShowPictureModelingJob",
    ),
]


async def _mss_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MSSError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405):
        # Like the upstream's gateway, an unknown method and path pair is simply not there.
        return error_response(404, "MSS.00000002", f"Not Found: {request.method} {request.url.path}")
    return error_response(exc.status_code, code_for_status(exc.status_code), f"Invalid request: {exc.detail}")


def create_app(config: EmulatorConfig, clock: Clock = system_clock) -> Starlette:
    emulator = Emulator(config, clock)
    if config.seed_demo_data:
        seed_demo_jobs(emulator)
    routes = [*upstream_routes, *(admin_routes if config.admin_enabled else [])]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(EmulatorMiddleware, emulator=emulator, routes=upstream_routes)],
        exception_handlers={MSSError: _mss_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return app
