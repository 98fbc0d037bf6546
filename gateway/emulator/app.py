"""Builds the emulator's Starlette app: upstream routes, admin routes, front door and life span."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

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

Endpoint = Callable[[Request], Awaitable[Response]]

V1 = "/v1/{project_id}"
VIDEOS = f"{V1}/2d-digital-human-videos"
PHOTO_VIDEOS = f"{V1}/photo-digital-human-videos"
TRAINING = f"{V1}/digital-human-training-manage/user/jobs"
PICTURES = f"{V1}/digital-human/stylized/picture-modelings"
VIDEO, PHOTO_VIDEO, TRAINING_JOB, PICTURE = (
    f"{jobs}/{{job_id}}" for jobs in (VIDEOS, PHOTO_VIDEOS, TRAINING, PICTURES)
)

# Each upstream operation: its method, path, handler and name (the operation's name in the API reference).
_OPERATIONS: tuple[tuple[str, str, Endpoint, str], ...] = (
    ("GET", f"{V1}/digital-human-videos", routes_video.list_videos, "ListDigitalHumanVideo"),
    ("POST", VIDEOS, routes_video.create_2d_video, "Create2DDigitalHumanVideo"),
    ("GET", VIDEO, routes_video.show_2d_video, "Show2DDigitalHumanVideo"),
    ("POST", f"{VIDEO}/cancel", routes_video.cancel_2d_video, "Cancel2DDigitalHumanVideo"),
    ("POST", PHOTO_VIDEOS, routes_video.create_photo_video, "CreatePhotoDigitalHumanVideo"),
    ("GET", PHOTO_VIDEO, routes_video.show_photo_video, "ShowPhotoDigitalHumanVideo"),
    ("POST", f"{PHOTO_VIDEO}/cancel", routes_video.cancel_photo_video, "CancelPhotoDigitalHumanVideo"),
    ("GET", TRAINING, routes_training.list_training_jobs, "List2dModelTrainingJob"),
    ("POST", TRAINING, routes_training.create_training_job, "Create2dModelTrainingJob"),
    ("GET", TRAINING_JOB, routes_training.show_training_job, "Show2dModelTrainingJob"),
    ("PUT", TRAINING_JOB, routes_training.update_training_job, "Update2dModelTrainingJob"),
    ("DELETE", TRAINING_JOB, routes_training.delete_training_job, "Delete2dModelTrainingJob"),
    (
        "POST",
        f"{TRAINING_JOB}/command",
        routes_training.run_training_command,
        "Execute2dModelTrainingCommandByUser",
    ),
    ("POST", PICTURES, routes_picture.create_picture_job, "CreatePictureModelingJob"),
    ("POST", f"{PICTURES}-by-url", routes_picture.create_picture_job_by_url, "CreatePictureModelingByUrlJob"),
    ("GET", PICTURES, routes_picture.list_picture_jobs, "ListPictureModelingJobs"),
    ("GET", PICTURE, routes_picture.show_picture_job, "ShowPictureModelingJob"),
)
upstream_routes: list[BaseRoute] = [
    Route(path, endpoint, methods=[method], name=name) for method, path, endpoint, name in _OPERATIONS
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
