"""Requests signed by the official SDK signer, so the emulator is checked against the reference."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer


def sign(
    method: str,
    path: str,
    *,
    ak: str,
    sk: str,
    host: str = "emu",
    query: Sequence[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[str, dict[str, str]]:
    """The URI (path and canonical query) and the headers to send, as the SDK would send them."""
    request = SdkRequest(
        method=method,
        schema="http",
        host=host,
        resource_path=path,
        query_params=list(query),
        header_params=dict(headers or {}),
        body=body,
    )
    Signer(SimpleNamespace(ak=ak, sk=sk)).sign(request)
    return request.uri, {name: str(value) for name, value in request.header_params.items()}
