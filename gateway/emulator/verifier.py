"""Verification of SDK-HMAC-SHA256 signed requests, the way MetaStudio's API gateway checks them."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, unquote_plus

ALGORITHM = "SDK-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_DATE_SHAPE = re.compile(r"\d{8}T\d{6}Z")
_SIGNATURE_SHAPE = re.compile(r"[0-9a-f]{64}")
_HEADER_NAME_SHAPE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_AUTH_FIELDS = ("Access", "SignedHeaders", "Signature")


@dataclass(frozen=True)
class SignedRequest:
    """A request as an HTTP server received it.

    Header values are the strings an ASGI server hands over (bytes decoded as ISO-8859-1); the
    official signer puts UTF-8 bytes on the wire, so non-ASCII values arrive in that form.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


class SignatureRejected(Exception):
    """The request's signature is missing, malformed, stale or wrong; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Authorization:
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def verify_signature(
    request: SignedRequest,
    secret_for: Callable[[str], str | None],
    now: datetime,
    max_skew_seconds: int = 900,
) -> str:
    """Return the access key that signed `request`, or raise SignatureRejected."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    authorization = _parse_authorization(headers.get("authorization"))
    for required in ("host", "x-sdk-date"):
        if required not in authorization.signed_headers:
            raise SignatureRejected(f"SignedHeaders must include {required}")
    for name in authorization.signed_headers:
        if name not in headers:
            raise SignatureRejected(f"signed header {name} is not in the request")

    sdk_date = headers["x-sdk-date"].strip()
    _check_freshness(sdk_date, now, max_skew_seconds)

    secret = secret_for(authorization.access_key)
    if not secret:
        raise SignatureRejected("unknown access key")

    canonical = canonical_request(request, headers, authorization.signed_headers)
    string_to_sign = f"{ALGORITHM}\n{sdk_date}\n{_sha256_hex(canonical.encode())}"
    expected = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, authorization.signature):
        raise SignatureRejected("signature does not match the request")
    return authorization.access_key


def canonical_request(
    request: SignedRequest, headers: Mapping[str, str], signed_headers: tuple[str, ...]
) -> str:
    """The canonical request text both sides hash; `headers` has lowercase names."""
    return "\n".join(
        (
            request.method.upper(),
            canonical_uri(request.path),
            canonical_query(request.query),
            _canonical_headers(headers, signed_headers),
            ";".join(signed_headers),
            _payload_hash(request.body, headers.get("x-sdk-content-sha256")),
        )
    )


def canonical_uri(raw_path: str) -> str:
    # The signer decodes the whole path before splitting, so an encoded '/' inside a path
    # parameter becomes a separator here too; mirroring that is what makes signatures agree.
    segments = unquote(raw_path).split("/")
    path = "/".join(_encode(segment) for segment in segments)
    return path if path.endswith("/") else path + "/"


def canonical_query(raw_query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        # '+' is a space in form encoding (httpx writes spaces that way); the official signer
        # always writes %20 and %2B, so reading '+' as a space loses nothing for it.
        pairs.append((unquote_plus(key), unquote_plus(value)))
    pairs.sort()
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in pairs)


def _canonical_headers(headers: Mapping[str, str], signed_headers: tuple[str, ...]) -> str:
    lines = [f"{name}:{_wire_header_text(headers[name]).strip()}\n" for name in signed_headers]
    return "".join(lines)


def _wire_header_text(value: str) -> str:
    # The signer hashes the Unicode value but sends its UTF-8 bytes, which a server decodes as
    # ISO-8859-1; undo that. A value that is not such a round trip is taken as it is.
    try:
        return value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _payload_hash(body: bytes, declared: str | None) -> str:
    if not body:
        return _EMPTY_BODY_HASH
    if declared is None:
        return _sha256_hex(body)
    declared = declared.strip()
    if declared == UNSIGNED_PAYLOAD:
        return UNSIGNED_PAYLOAD
    # Any other declared hash is signed in place of the body, so it must really be the body's.
    if not hmac.compare_digest(declared.lower(), _sha256_hex(body)):
        raise SignatureRejected("x-sdk-content-sha256 does not match the body")
    return declared


def _parse_authorization(value: str | None) -> _Authorization:
    if value is None:
        raise SignatureRejected("missing Authorization header")
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise SignatureRejected(f"Authorization must use {ALGORITHM}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, field_value = part.strip().partition("=")
        if not equals or name not in _AUTH_FIELDS or name in fields:
            raise SignatureRejected("malformed Authorization header")
        fields[name] = field_value.strip()
    if set(fields) != set(_AUTH_FIELDS):
        raise SignatureRejected("Authorization needs Access, SignedHeaders and Signature")
    if not fields["Access"]:
        raise SignatureRejected("malformed Authorization header: empty Access")
    signed_headers = tuple(fields["SignedHeaders"].split(";"))
    if not all(_HEADER_NAME_SHAPE.fullmatch(name) for name in signed_headers):
        raise SignatureRejected("malformed Authorization header: SignedHeaders")
    if not _SIGNATURE_SHAPE.fullmatch(fields["Signature"]):
        raise SignatureRejected("malformed Authorization header: Signature")
    return _Authorization(fields["Access"], signed_headers, fields["Signature"])


def _check_freshness(sdk_date: str, now: datetime, max_skew_seconds: int) -> None:
    if not _DATE_SHAPE.fullmatch(sdk_date):
        raise SignatureRejected("x-sdk-date must look like YYYYMMDDTHHMMSSZ")
    try:
        signed_at = datetime.strptime(sdk_date, _DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRejected("x-sdk-date is not a valid date") from None
    current = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    if abs((current - signed_at).total_seconds()) > max_skew_seconds:
        raise SignatureRejected(f"x-sdk-date is more than {max_skew_seconds} seconds from the server time")


def _encode(text: str) -> str:
    return quote(text, safe="~")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
