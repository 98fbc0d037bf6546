"""SDK-HMAC-SHA256 request signing, agreeing byte for byte with Huawei Cloud's official SDK signer."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

_DATE_HEADER = "X-Sdk-Date"
_CONTENT_HASH_HEADER = "X-Sdk-Content-Sha256"
# Headers the signer itself decides; a caller's copy of them would make the signature ambiguous.
_OWN_HEADERS = frozenset({"host", "x-sdk-date", "x-sdk-content-sha256", "authorization"})


@dataclass(frozen=True, repr=False)
class SignedRequest:
    """What to put on the wire: `target` is the path plus the exact query string that was signed."""

    target: str
    headers: Mapping[str, bytes]
    signed_headers: tuple[str, ...]
    canonical_request: str

    def __repr__(self) -> str:
        return f"SignedRequest(target={self.target!r}, signed_headers={self.signed_headers!r})"


def sign_request(
    method: str,
    host: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    *,
    ak: str,
    sk: str,
    signed_at: datetime | None = None,
    body_streamed: bool = False,
) -> SignedRequest:
    """Sign one request.

    `path` is the percent-encoded path as it goes on the wire, `query` the decoded pairs (repeat a
    key for several values), `headers` every header that should be signed besides Host and
    X-Sdk-Date (names containing '_' are sent unsigned, as the official signer does). Pass
    `body_streamed=True` when the body is sent as a stream and so cannot be hashed: that needs a
    non-JSON Content-Type, which makes the payload `UNSIGNED-PAYLOAD`.
    """
    if not ak or not sk:
        raise ValueError("signing needs both an access key and a secret key")
    sdk_date = _utc(signed_at).strftime(DATE_FORMAT)

    values = {name: str(value).strip() for name, value in headers.items() if name.lower() not in _OWN_HEADERS}
    if _unsigned_payload(headers):
        values[_CONTENT_HASH_HEADER] = UNSIGNED_PAYLOAD
    values[_DATE_HEADER] = sdk_date
    values["Host"] = host.strip()

    by_lower_name = {name.lower(): value for name, value in values.items()}
    signed_headers = tuple(sorted(name.lower() for name in values if "_" not in name))
    canonical_headers = "".join(f"{name}:{by_lower_name[name]}\n" for name in signed_headers)
    canonical_query = canonical_query_string(query)
    canonical_request = "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query,
            canonical_headers,
            ";".join(signed_headers),
            _payload_hash(body, body_streamed, by_lower_name.get(_CONTENT_HASH_HEADER.lower())),
        )
    )
    string_to_sign = f"{ALGORITHM}\n{sdk_date}\n{_sha256_hex(canonical_request.encode())}"
    signature = hmac.new(sk.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )

    # The official signer hashes the Unicode value and sends its UTF-8 bytes; do exactly that.
    wire_headers = {name: value.encode() for name, value in values.items()}
    wire_headers["Authorization"] = authorization.encode()
    target = f"{path}?{canonical_query}" if canonical_query else path
    return SignedRequest(target, wire_headers, signed_headers, canonical_request)


def canonical_uri(path: str) -> str:
    # The whole path is decoded before splitting, so an encoded '/' inside a segment counts as a
    # separator: that is what the official signer (and so the upstream) does.
    encoded = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query_string(query: Sequence[tuple[str, str]]) -> str:
    """The query sorted by decoded key then value, each part percent-encoded (only '~' kept)."""
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(query))


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    # A naive time is taken to be UTC already, as the official signer takes it.
    return moment.astimezone(UTC) if moment.tzinfo else moment


def _unsigned_payload(headers: Mapping[str, str]) -> bool:
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), "")
    return bool(content_type) and not content_type.startswith(("application/json", "application/bson"))


def _payload_hash(body: bytes, body_streamed: bool, declared: str | None) -> str:
    if not body and not body_streamed:
        return EMPTY_BODY_HASH
    if declared:
        return declared
    if body_streamed:
        raise ValueError("a streamed body can only be signed with a non-JSON Content-Type (UNSIGNED-PAYLOAD)")
    return _sha256_hex(body)


# What quote(text, safe="~") hands back unchanged: a lookup of 100 ids has 103 query parts, nearly all
# of them such, and quote's own checks cost several times this match.
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")


def _encode(text: str) -> str:
    if _UNRESERVED.fullmatch(text):
        return text
    return quote(text, safe="~")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
