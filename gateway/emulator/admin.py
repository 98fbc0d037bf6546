"""Admin routes under /_emulator: call log, faults, latency, job control, uploads and callbacks."""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.emulator.emulator import emulator_of, json_object
from gateway.emulator.errors import invalid, job_not_found, not_found
from gateway.emulator.jobs import states_of


async def list_calls(request: Request) -> JSONResponse:
    return JSONResponse({"calls": emulator_of(request).calls.as_json()})


async def clear_calls(request: Request) -> JSONResponse:
    emulator_of(request).calls.clear()
    return JSONResponse({})


async def set_latency(request: Request) -> JSONResponse:
    emulator_of(request).faults.set_latency(await json_object(request))
    return JSONResponse({})


async def clear_latency(request: Request) -> JSONResponse:
    emulator_of(request).faults.latency = None
    return JSONResponse({})


async def add_fault(request: Request) -> JSONResponse:
    fault = emulator_of(request).faults.add(await json_object(request))
    return JSONResponse({"id": fault.id})


async def clear_faults(request: Request) -> JSONResponse:
    emulator_of(request).faults.faults.clear()
    return JSONResponse({})


async def advance_job(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    job_id = request.path_params["job_id"]
    emulator.lifecycle.advance_due()
    jobs = emulator.store.find(job_id)
    if not jobs:
        raise job_not_found(job_id)
    for job in jobs:
        if not job.pending:
            raise invalid(
                f"Invalid parameter: job {job_id} is {job.state}, which has no automatic next state"
            )
    now = emulator.clock()
    for job in jobs:
        emulator.lifecycle.step(job, now)
    return JSONResponse({"job_id": job_id, "state": jobs[0].state})


async def set_job_state(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    job_id = request.path_params["job_id"]
    body = await json_object(request)
    emulator.lifecycle.advance_due()
    jobs = emulator.store.find(job_id)
    if not jobs:
        raise job_not_found(job_id)
    state = body.get("state")
    if not isinstance(state, str) or any(state not in states_of(job.kind) for job in jobs):
        raise invalid(f"Invalid parameter: state {state} is not a state of job {job_id}")
    code, message = body.get("error_code"), body.get("error_msg")
    error = None
    if code is not None or message is not None:
        error = (str(code or "MSS.00000004"), str(message or "Internal Error"))
    for job in jobs:
        emulator.lifecycle.set_state(job, state, error)
    return JSONResponse({"job_id": job_id, "state": state})


async def show_upload(request: Request) -> JSONResponse:
    upload = emulator_of(request).uploads.get(request.path_params["job_id"])
    if upload is None:
        raise not_found("Not Found: no upload for this job")
    return JSONResponse(asdict(upload))


async def list_callbacks(request: Request) -> JSONResponse:
    return JSONResponse({"callbacks": emulator_of(request).callbacks.sent})


async def reset(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    emulator.calls.clear()
    emulator.faults.clear()
    emulator.callbacks.sent.clear()
    return JSONResponse({})


ADMIN_PREFIX = "/_emulator"

admin_routes = [
    Route(f"{ADMIN_PREFIX}/calls", list_calls, methods=["GET"]),
    Route(f"{ADMIN_PREFIX}/calls", clear_calls, methods=["DELETE"]),
    Route(f"{ADMIN_PREFIX}/latency", set_latency, methods=["PUT"]),
    Route(f"{ADMIN_PREFIX}/latency", clear_latency, methods=["DELETE"]),
    Route(f"{ADMIN_PREFIX}/faults", add_fault, methods=["POST"]),
    Route(f"{ADMIN_PREFIX}/faults", clear_faults, methods=["DELETE"]),
    Route(f"{ADMIN_PREFIX}/jobs/{{job_id}}/advance", advance_job, methods=["POST"]),
    Route(f"{ADMIN_PREFIX}/jobs/{{job_id}}/state", set_job_state, methods=["PUT"]),
    Route(f"{ADMIN_PREFIX}/uploads/{{job_id}}", show_upload, methods=["GET"]),
    Route(f"{ADMIN_PREFIX}/callbacks", list_callbacks, methods=["GET"]),
    Route(f"{ADMIN_PREFIX}/reset", reset, methods=["POST"]),
]
