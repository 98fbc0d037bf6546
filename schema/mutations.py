"""What every mutation shares: the caller's header rules and creates that run once per idempotency key."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import strawberry

from gateway.idempotency import REMEMBER_SECONDS, Claim, IdempotencyStore, StoreUnavailable
from gateway.live.callback_bindings import job_created
from gateway.live.events import JobKind
from gateway.loaders.base import CallBudgetExceeded, MissingCredentials
from gateway.upstream import JSONObject, UpstreamError, UpstreamHTTPError
from schema.errors import GatewayError
from schema.resolvers import GatewayInfo
from schema.user_errors import Problems, UserError, UserErrorCode, is_user_error, user_errors_from_upstream

log = logging.getLogger("gateway.graphql")

# CJK ideographs (with extensions A-G and compatibility forms) and CJK punctuation: MetaStudio
# refuses them in X-App-UserId.
_CHINESE = re.compile(
    "[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"
)
APP_USER_FIELD = ["headers", "X-App-UserId"]
# What the creates' idempotencyKey fields say of a key: as long as its record is kept.
_SAME_KEY = (
    f"the same key from the same caller within {REMEMBER_SECONDS // 3600} hours returns the first result"
)
IDEMPOTENCY_KEY = f"{_SAME_KEY.capitalize()} and creates nothing upstream."
VIDEO_IDEMPOTENCY_KEY = f"Makes retries safe: {_SAME_KEY} and creates nothing more."
WAIT_STEP = 0.05


class IdempotencyKeyReused(Exception):
    """The key was first used with a different input; the first create stands."""


class OutcomeUnknown(GatewayError):
    code = "UPSTREAM_TIMEOUT"

    def __init__(self) -> None:
        super().__init__(
            "an earlier create with this idempotency key got no answer from MetaStudio, so whether it "
            "created a job is unknown; check the job list before trying again with a new key"
        )


class IdempotencyStoreUnavailable(GatewayError):
    # The client's retry logic already treats this code as "try again later".
    code = "UPSTREAM_UNAVAILABLE"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the idempotency store cannot be reached ({reason}), so no job was created; "
            "retry later with the same idempotencyKey",
            extensions={"retryable": True, "dependency": "idempotency-store"},
        )


def caller_problems(info: GatewayInfo) -> list[UserError]:
    """Rules on who is calling that MetaStudio enforces, checked before any upstream call."""
    app_user_id = info.context.credentials.app_user_id
    if app_user_id is not None and _CHINESE.search(app_user_id):
        return [
            UserError(
                code=UserErrorCode.INVALID_INPUT,
                message="X-App-UserId must not contain Chinese characters",
                field=APP_USER_FIELD,
            )
        ]
    return []


def problems_for(info: GatewayInfo) -> Problems:
    """A mutation's problems, begun with the caller's (caller_problems); its input's follow."""
    problems = Problems()
    problems.extend(caller_problems(info))
    return problems


async def refusal_of(call: Awaitable[object]) -> UpstreamHTTPError | None:
    """None once the upstream has done what `call` asks; its refusal where it refused the caller's input or
    action (is_user_error); any other failure raises."""
    try:
        await call
    except UpstreamHTTPError as exc:
        if not is_user_error(exc):
            raise
        return exc
    return None


def job_as_now(job: str, action: str) -> Any:
    """A payload's job field: `job` as MetaStudio now sees it, null when the `action` was refused."""
    return strawberry.field(
        description=f"{job} as MetaStudio now sees it; null when the {action} was refused."
    )


def refusals(action: str) -> Any:
    """A payload's userErrors field: why the `action` was refused."""
    return strawberry.field(description=f"Why the {action} was refused; empty when it was not.")


def fingerprint_of(value: object) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


def _certainly_created_nothing(exc: BaseException) -> bool:
    if isinstance(exc, MissingCredentials | CallBudgetExceeded):
        return True
    if isinstance(exc, UpstreamHTTPError):
        # An answer below 500 is a refusal; a 5xx may come after the job was made.
        return exc.status < 500
    if isinstance(exc, UpstreamError):
        return not exc.request_sent
    return False


async def create_once(
    info: GatewayInfo,
    *,
    operation: str,
    idempotency_key: str | None,
    fingerprint: object,
    create: Callable[[], Awaitable[JSONObject]],
) -> JSONObject:
    """Run `create` at most once per caller, operation and key within 24 hours; replays get its answer.

    A create is never retried here: when it fails in a way that may have created a job (a timeout,
    a dropped connection, a 5xx), the key remembers that the outcome is unknown.
    """
    if idempotency_key is None:
        return await create()
    context = info.context
    store = context.idempotency
    key = fingerprint_of([context.upstream.key, operation, idempotency_key])
    mine = fingerprint_of(fingerprint)
    # Long enough for the create in flight to finish; a crashed replica's claim then lapses.
    pending_ttl = context.settings.total_timeout + 60
    loop = asyncio.get_running_loop()
    deadline = loop.time() + context.settings.total_timeout + 5
    while (held := await _claim(store, key, mine, pending_ttl)) is not None:
        if held.fingerprint != mine:
            raise IdempotencyKeyReused
        if held.status == "done" and held.result is not None:
            return held.result
        if held.status == "unknown" or loop.time() >= deadline:
            raise OutcomeUnknown
        await asyncio.sleep(WAIT_STEP)  # the same create is under way in another request
    try:
        result = await create()
    except BaseException as exc:
        if _certainly_created_nothing(exc):
            await _remember(store.release(key), operation)
        else:
            await _remember(store.settle(key, Claim(mine, "unknown"), REMEMBER_SECONDS), operation)
        raise
    await _remember(store.settle(key, Claim(mine, "done", dict(result)), REMEMBER_SECONDS), operation)
    return result


async def _remember(write: Awaitable[None], operation: str) -> None:
    """Record what became of a claim; the create itself already happened (or certainly did not), so a
    store that fails now must not turn its answer into an error. The pending claim lapses by itself."""
    try:
        await write
    except Exception:
        log.warning("%s: the idempotency store could not record the outcome", operation, exc_info=True)


async def _claim(store: IdempotencyStore, key: str, fingerprint: str, ttl: float) -> Claim | None:
    try:
        return await store.claim(key, fingerprint, ttl)
    except StoreUnavailable as exc:
        raise IdempotencyStoreUnavailable(str(exc)) from exc


async def create_or_refusal(
    info: GatewayInfo,
    *,
    operation: str,
    idempotency_key: str | None,
    fingerprint: object,
    create: Callable[[], Awaitable[JSONObject]],
    field: list[str] | None = None,
) -> tuple[JSONObject | None, list[UserError]]:
    """`create_once`, with the refusals a payload reports as userErrors: (answer, []) or (None, errors).

    A reused key and an upstream 4xx are refusals (`field` names the input an upstream refusal is
    about); failures of the upstream itself still raise, to become GraphQL errors.
    """
    try:
        answer = await create_once(
            info, operation=operation, idempotency_key=idempotency_key, fingerprint=fingerprint, create=create
        )
    except IdempotencyKeyReused:
        return None, [reused_key_error()]
    except UpstreamHTTPError as exc:
        if not is_user_error(exc):
            raise
        return None, user_errors_from_upstream(exc, field)
    return answer, []


async def create_job(
    info: GatewayInfo,
    *,
    kind: JobKind,
    operation: str,
    idempotency_key: str | None,
    fingerprint: object,
    send: Callable[[], Awaitable[JSONObject]],
    nonce: str | None = None,
    field: list[str] | None = None,
) -> tuple[JSONObject | None, list[UserError]]:
    """What every create does around its own upstream call `send`: sent at most once per idempotency
    key (`create_or_refusal`), and the job it made followed by the live machinery from then on (its
    callback, signed with `nonce`, bound to it; polled closely for a while). (answer, []) or (None,
    the refusals)."""

    async def create() -> JSONObject:
        answer = await send()
        await job_created(info.context, kind, answer, nonce)
        return answer

    return await create_or_refusal(
        info,
        operation=operation,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        create=create,
        field=field,
    )


def reused_key_error() -> UserError:
    return UserError(
        code=UserErrorCode.IDEMPOTENCY_KEY_REUSED,
        message="this idempotency key was already used with a different input; use a new key for a new job",
        field=["input", "idempotencyKey"],
    )
