"""Expected mutation failures as data: `UserError`s that name the input field and the broken rule."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Sequence
from typing import Any

import strawberry

from gateway.upstream import UpstreamHTTPError

# Statuses that mean "the upstream refused this input or action", as opposed to it failing.
USER_ERROR_STATUSES = frozenset({400, 403, 404, 409, 422})

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


@strawberry.enum(description="Why a mutation refused its input or action.")
class UserErrorCode(enum.Enum):
    INVALID_INPUT = strawberry.enum_value(
        "INVALID_INPUT",
        description="A value breaks a documented rule: its range, length, format or a combination.",
    )
    REQUIRED = strawberry.enum_value("REQUIRED", description="A required value is missing or blank.")
    UNSUPPORTED_FILE = strawberry.enum_value(
        "UNSUPPORTED_FILE", description="The uploaded file is not a whole PNG or JPEG of an accepted size."
    )
    FILE_TOO_LARGE = strawberry.enum_value(
        "FILE_TOO_LARGE",
        description="The upload has more bytes than the gateway accepts (GATEWAY_UPLOAD_MAX_BYTES).",
    )
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="The caller has no job with that id.")
    STATE_CONFLICT = strawberry.enum_value(
        "STATE_CONFLICT", description="The job's state refuses the action, e.g. canceling a video that ended."
    )
    IDEMPOTENCY_KEY_REUSED = strawberry.enum_value(
        "IDEMPOTENCY_KEY_REUSED",
        description="The idempotency key was first used with a different input; the first create stands.",
    )
    UPSTREAM_REJECTED = strawberry.enum_value(
        "UPSTREAM_REJECTED",
        description="MetaStudio refused the request; upstreamErrorCode says with which code.",
    )


@strawberry.type(description="A problem with a mutation's input or with the action it asked for.")
class UserError:
    code: UserErrorCode = strawberry.field(description="What kind of problem; the message has the details.")
    message: str = strawberry.field(description="What is wrong, naming the rule that was broken.")
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, e.g. [input, voiceConfig, speed]; null if none."
    )
    upstream_error_code: str | None = strawberry.field(
        default=None, description="The MSS error code when MetaStudio itself refused the request."
    )


def is_user_error(exc: UpstreamHTTPError) -> bool:
    return exc.status in USER_ERROR_STATUSES


def user_errors_from_upstream(exc: UpstreamHTTPError, field: list[str] | None = None) -> list[UserError]:
    """An upstream refusal as the client should see it: the MSS code kept, never a stack or a secret."""
    said = exc.error_msg or f"HTTP {exc.status}"
    code = f" ({exc.error_code})" if exc.error_code else ""
    if exc.status == 404:
        return [
            UserError(
                code=UserErrorCode.NOT_FOUND,
                message=f"MetaStudio has no such job: {said}{code}",
                field=field,
                upstream_error_code=exc.error_code,
            )
        ]
    return [
        UserError(
            code=UserErrorCode.UPSTREAM_REJECTED,
            message=f"MetaStudio refused the request: {said}{code}",
            field=field,
            upstream_error_code=exc.error_code,
        )
    ]


Path = Sequence[str | int]


class Problems:
    """Every rule an input breaks, collected so one answer lists them all."""

    def __init__(self) -> None:
        self._errors: list[UserError] = []

    def __bool__(self) -> bool:
        return bool(self._errors)

    @property
    def errors(self) -> list[UserError]:
        return list(self._errors)

    def add(self, path: Path, message: str, code: UserErrorCode = UserErrorCode.INVALID_INPUT) -> None:
        self._errors.append(UserError(code=code, message=message, field=[str(p) for p in path]))

    def extend(self, errors: Iterable[UserError]) -> None:
        self._errors.extend(errors)

    def unknown_values(self, value: object, path: Path) -> None:
        """UNKNOWN anywhere in an input is a problem: it names upstream values this gateway does not
        know, which it can only answer, never send."""
        if isinstance(value, enum.Enum):
            if value.name == "UNKNOWN":
                self.add(
                    path, f"{_name(path)} cannot be UNKNOWN: it only stands for values the upstream sent"
                )
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.unknown_values(item, [*path, index])
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                self.unknown_values(getattr(value, field.name), [*path, camel_case(field.name)])

    def required(self, path: Path, value: Any) -> bool:
        """True when present; a missing, empty or blank value is a REQUIRED problem."""
        if value is None or (isinstance(value, str | list | tuple) and len(value) == 0):
            self.add(path, f"{_name(path)} is required", UserErrorCode.REQUIRED)
            return False
        if isinstance(value, str) and not value.strip():
            self.add(path, f"{_name(path)} is required and must not be blank", UserErrorCode.REQUIRED)
            return False
        return True

    def between(self, path: Path, value: float | None, low: float, high: float) -> None:
        if value is not None and not low <= value <= high:
            bounds = f"between {_number(low)} and {_number(high)}"
            self.add(path, f"{_name(path)} must be {bounds}, got {_number(value)}")

    def at_most(self, path: Path, text: str | None, limit: int) -> None:
        if text is not None and len(text) > limit:
            self.add(path, f"{_name(path)} must be at most {limit} characters, got {len(text)}")

    def one_of(self, path: Path, value: Any, allowed: Iterable[Any]) -> None:
        options = list(allowed)
        if value is not None and value not in options:
            shown = ", ".join(str(o) for o in options)
            self.add(path, f"{_name(path)} must be one of {shown}, got {value}")

    def color(self, path: Path, value: str | None) -> None:
        if value is not None and not _COLOR.match(value):
            self.add(path, f"{_name(path)} must be a colour written #RRGGBB, got {value!r}")

    def url(self, path: Path, value: str | None, max_length: int = 2048) -> None:
        if value is None:
            return
        if not value.lower().startswith(("https://", "http://")):
            self.add(path, f"{_name(path)} must be an http:// or https:// URL")
        elif len(value) > max_length:
            self.add(path, f"{_name(path)} must be at most {max_length} characters, got {len(value)}")

    def unique(self, path: Path, values: Sequence[Any], name: str) -> None:
        """Each repeat of a value in `values` is a problem at its own index."""
        seen: set[Any] = set()
        for index, value in enumerate(values):
            if value is None:
                continue
            if value in seen:
                self.add([*path, index, name], f"{name} {value} is used more than once; each must be unique")
            seen.add(value)


def camel_case(name: str) -> str:
    """An input field's GraphQL name from its Python name, as Strawberry names it."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _name(path: Path) -> str:
    return str(path[-1]) if path else "input"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
