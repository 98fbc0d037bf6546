"""The `POST /callbacks/{token}` route: a job notification from upstream makes the job's poller look."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.live.callback_bindings import bindings_of
from gateway.live.callback_tokens import CALLBACK_PATH, verified_token
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.live.hub import JobStateHub

logger = logging.getLogger("gateway.callbacks")

# A job notification is a few hundred bytes; anything much larger is not one.
MAX_BODY_BYTES = 64 * 1024


class _BodyTooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _named_job(body: bytes) -> str | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    job_id = data.get("job_id") if isinstance(data, dict) else None
    return job_id if isinstance(job_id, str) and job_id else None


def _refused(request: Request, status: int, reason: str) -> Response:
    # Who sent it and why it was refused; never the token (it is the job's secret) nor the key.
    peer = request.client.host if request.client is not None else "an unknown address"
    logger.warning("refused a job callback from %s: %s", peer, reason)
    messages = {400: "bad request", 401: "unauthorized", 404: "not found", 413: "request too large"}
    return JSONResponse({"error": messages[status]}, status_code=status)


async def receive_callback(request: Request) -> Response:
    """POST /callbacks/{token}: a job notification from upstream; the job is polled at once.

    Cheap on purpose: a signature check, one binding look-up and a nudge to whichever replica polls
    the job; the upstream is never called from here, and nothing about any job is answered.
    """
    settings: Settings = request.app.state.settings
    signed = verified_token(settings, request.path_params["token"])
    if signed is None:
        return _refused(request, 401, "its token was not signed by this gateway")
    nonce, kind = signed
    ref = await bindings_of(request).job_of(nonce)
    if ref is None or ref.kind != kind:
        return _refused(request, 404, "its token is bound to no job (unknown or expired)")
    try:
        body = await _body(request)
    except _BodyTooLarge:
        return _refused(request, 413, f"its body is over {MAX_BODY_BYTES} bytes")
    job_id = _named_job(body)
    if job_id is None:
        return _refused(request, 400, "its body is not a JSON object naming a job_id")
    if job_id != ref.job_id:
        return _refused(request, 401, f"its body names another job than the {kind} job its token is for")
    hub: JobStateHub | None = getattr(request.app.state, "live", None)
    if hub is not None:
        await hub.nudge(ref)
    return Response(status_code=204)


def callback_route() -> Route:
    """The route; the loggers writing request URLs must hide its tokens (gateway.live.callback_logs)."""
    return Route(CALLBACK_PATH + "{token}", receive_callback, methods=["POST"])
