"""Callback tokens: the signed per-job URL part sent upstream, made and verified here only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from gateway.live.events import JOB_KINDS, JobKind
from gateway.settings import Settings

CALLBACK_PATH = "/callbacks/"
# CallBackConfig.callback_url and notify_url allow at most this many characters.
MAX_URL_LENGTH = 2048
NONCE_BYTES = 16
_NONCE_CHARS = 22  # base64url of 16 bytes, unpadded
_SIGNATURE_CHARS = 43  # base64url of an HMAC-SHA256, unpadded
# Without GATEWAY_CALLBACK_SECRET, tokens are signed with a key of this process only, so they verify
# only here; replicas must share a secret for a callback to land on any of them.
_PROCESS_KEY = secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url text, or None (so one nonce has one spelling)."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64(data) == text else None


def _key(settings: Settings) -> bytes:
    secret = settings.callback_secret
    if secret is None:
        return _PROCESS_KEY
    # A key of its own, so the secret signs nothing but callback tokens.
    return hmac.new(secret.encode(), b"metastudio-gateway callback tokens", hashlib.sha256).digest()


def _signature(key: bytes, kind: JobKind, nonce: bytes) -> bytes:
    return hmac.new(key, kind.encode("ascii") + b"|" + nonce, hashlib.sha256).digest()


def callback_token(settings: Settings, kind: JobKind, nonce: str) -> str:
    """The URL part naming one job's callback: base64url(nonce) "." base64url(HMAC(key, kind|nonce))."""
    raw = _unb64(nonce)
    if raw is None:
        raise ValueError("a callback nonce is unpadded base64url text")
    return f"{nonce}.{_b64(_signature(_key(settings), kind, raw))}"


def verified_token(settings: Settings, token: str) -> tuple[str, JobKind] | None:
    """(nonce, kind) of a token this gateway signed, or None for anything else."""
    nonce, dot, signature = token.partition(".")
    if not dot or len(nonce) != _NONCE_CHARS or len(signature) != _SIGNATURE_CHARS:
        return None
    raw, claimed = _unb64(nonce), _unb64(signature)
    if raw is None or claimed is None:
        return None
    key = _key(settings)
    found: JobKind | None = None
    # Every kind is compared, so the time taken says nothing about which one matched.
    for kind in JOB_KINDS:
        if hmac.compare_digest(claimed, _signature(key, kind, raw)):
            found = kind
    return None if found is None else (nonce, found)


def gateway_callback(settings: Settings, kind: JobKind) -> tuple[str, str] | None:
    """(url, nonce) of a fresh callback for a job about to be created, when the gateway has a public URL."""
    if settings.public_url is None:
        return None
    nonce = _b64(secrets.token_bytes(NONCE_BYTES))
    url = f"{settings.public_url}{CALLBACK_PATH}{callback_token(settings, kind, nonce)}"
    if len(url) > MAX_URL_LENGTH:
        return None
    return url, nonce
