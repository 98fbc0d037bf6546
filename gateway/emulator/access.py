"""Who is calling: X-Auth-Token or a verified SDK-HMAC-SHA256 signature, plus X-App-UserId."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request

from gateway.emulator.config import EmulatorConfig
from gateway.emulator.errors import forbidden, invalid, unauthorized
from gateway.emulator.verifier import SignatureRejected, SignedRequest, verify_signature

# CJK ideographs and punctuation: the upstream refuses Chinese in X-App-UserId.
_CHINESE = re.compile("[\u2e80-\u2fdf\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
PRINCIPAL_SCOPE_KEY = "emulator.principal"


@dataclass(frozen=True)
class Principal:
    """The owner of a shelf of jobs; `label` is safe to show (it never holds a secret)."""

    label: str
    app_user_id: str | None = None


def token_principal(index: int, app_user_id: str | None = None) -> Principal:
    return _with_user(f"token#{index}", app_user_id)


def ak_principal(ak: str, app_user_id: str | None = None) -> Principal:
    return _with_user(f"ak:{ak}", app_user_id)


def _with_user(base: str, app_user_id: str | None) -> Principal:
    return Principal(base if app_user_id is None else f"{base}/user:{app_user_id}", app_user_id)


def raw_headers(request: Request, encoding: str) -> dict[str, str]:
    """Headers with lowercase names; UTF-8 shows Chinese user ids that latin-1 would garble."""
    headers: dict[str, str] = {}
    for name, value in request.scope["headers"]:
        headers[name.decode("latin-1").lower()] = value.decode(encoding, errors="replace")
    return headers


def _app_user_id(headers: dict[str, str]) -> str | None:
    value = headers.get("x-app-userid")
    if value is None or value == "":
        return None
    if _CHINESE.search(value) or "\ufffd" in value:
        raise invalid("Invalid parameter: X-App-UserId must not contain Chinese characters")
    return value


def _token_index(config: EmulatorConfig, token: str) -> int | None:
    found: int | None = None
    for index, known in enumerate(config.tokens):
        # Compare every token in constant time so timing does not tell which one nearly matched.
        if hmac.compare_digest(known.encode(), token.encode()) and found is None:
            found = index
    return found


async def authenticate(request: Request, config: EmulatorConfig) -> Principal:
    headers = raw_headers(request, "utf-8")
    token = headers.get("x-auth-token")
    authorization = headers.get("authorization", "")
    if token is not None:
        index = _token_index(config, token)
        if index is None:
            raise unauthorized("Unauthorized: the X-Auth-Token is not valid")
        principal = token_principal(index, _app_user_id(headers))
    elif authorization.startswith("SDK-HMAC-SHA256"):
        signed = SignedRequest(
            method=request.method,
            path=request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?")[0],
            query=request.scope.get("query_string", b"").decode("latin-1"),
            # The verifier wants header values as the ASGI server decoded them (latin-1).
            headers=raw_headers(request, "latin-1"),
            body=await request.body(),
        )
        try:
            ak = verify_signature(
                signed, config.credentials.get, datetime.now(UTC), config.signature_max_skew_seconds
            )
        except SignatureRejected as exc:
            raise unauthorized(f"Unauthorized: {exc.reason}") from None
        principal = ak_principal(ak, _app_user_id(headers))
    else:
        raise unauthorized("Unauthorized: send X-Auth-Token or an SDK-HMAC-SHA256 Authorization header")
    request.scope[PRINCIPAL_SCOPE_KEY] = principal.label
    project_id = request.path_params.get("project_id")
    if project_id != config.project_id:
        raise forbidden(f"Forbidden: project {project_id} is not accessible with these credentials")
    return principal
