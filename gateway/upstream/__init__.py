"""Async REST client for Huawei Cloud MetaStudio's job APIs (signing, retries, typed errors)."""

from gateway.upstream.client import QueryValue, UpstreamClient
from gateway.upstream.config import AuthMode, Credentials, UpstreamConfig
from gateway.upstream.errors import (
    CredentialsError,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamInvalidResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.upstream.multipart import PictureFile
from gateway.upstream.session import JSONObject

__all__ = [
    "AuthMode",
    "Credentials",
    "CredentialsError",
    "JSONObject",
    "PictureFile",
    "QueryValue",
    "UpstreamClient",
    "UpstreamConfig",
    "UpstreamError",
    "UpstreamHTTPError",
    "UpstreamInvalidResponse",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]
