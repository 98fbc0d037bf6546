"""Bearer tokens: a caller's JWT checked against a shared secret or a JWKS, and the end user it names."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.jwks import JWKS_ALGORITHMS, JwksKeys
from gateway.metrics import UnauthenticatedReason
from gateway.settings import Settings

# Pinned: a shared secret verifies HS256 only (a JWKS's keys, gateway.jwks.JWKS_ALGORITHMS).
SECRET_ALGORITHMS = ("HS256",)

MISSING = "send a bearer JWT as Authorization: Bearer <token>"


@dataclass(frozen=True)
class ClientIdentity:
    """A verified caller: the end user its token names, and when the token expires (epoch seconds)."""

    user_id: str
    expires_at: float


class Unauthenticated(Exception):
    """A token refused; `message` says why without repeating any of the token."""

    def __init__(self, reason: UnauthenticatedReason, message: str) -> None:
        super().__init__(message)
        self.reason: UnauthenticatedReason = reason
        self.message = message


class TokenVerifier:
    """Checks a bearer JWT: signature with a pinned algorithm, `exp` (required), `nbf` and `iat`, the
    issuer and audience when set, all within the leeway; then the claim that names the end user."""

    def __init__(self, settings: Settings, keys: JwksKeys | None = None) -> None:
        # PyJWT is loaded with the first verifier, not by the first request.
        importlib.import_module("jwt")
        self.secret = settings.jwt_secret
        if keys is None and settings.jwks_url is not None and self.secret is None:
            keys = JwksKeys(settings.jwks_url)
        self.keys = keys
        self.algorithms = list(SECRET_ALGORITHMS if self.keys is None else JWKS_ALGORITHMS)
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.leeway = settings.jwt_leeway
        self.user_claim = settings.jwt_user_claim

    async def verify(self, token: str | None) -> ClientIdentity:
        import jwt

        if not token:
            raise Unauthenticated("missing", MISSING)
        try:
            sent = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("malformed", "the bearer token is not a well-formed JWT") from None
        if sent.get("alg") not in self.algorithms:
            accepted = ", ".join(self.algorithms)
            raise Unauthenticated(
                "bad_algorithm", f"the token's algorithm (alg) is not one this gateway accepts ({accepted})"
            )
        claims = self._decode(token, await self._key_for(sent))
        user = claims.get(self.user_claim)
        if not isinstance(user, str) or not user.strip() or not user.isprintable():
            raise Unauthenticated(
                "bad_claims",
                f"the token's {self.user_claim} claim must be a non-empty string: it names the end user",
            )
        return ClientIdentity(user_id=user.strip(), expires_at=float(claims["exp"]))

    async def aclose(self) -> None:
        if self.keys is not None:
            await self.keys.aclose()

    async def _key_for(self, sent: Mapping[str, Any]) -> Any:
        if self.keys is None:
            return self.secret
        kid = sent.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("unknown_key", "the token names no signing key (kid)")
        key = await self.keys.key(kid)
        if key is None:
            raise Unauthenticated(
                "unknown_key", "the token's signing key (kid) is not among the issuer's keys"
            )
        return key

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        import jwt

        required = ["exp", *(["iss"] if self.issuer else []), *(["aud"] if self.audience else [])]
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                # The user claim, `sub` or another, is checked below, with a message naming it.
                options={"require": required, "verify_aud": self.audience is not None, "verify_sub": False},
            )
        except jwt.InvalidSignatureError:
            raise Unauthenticated("bad_signature", "the token's signature does not verify") from None
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("not_yet_valid", "the token is not valid yet (nbf or iat)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("wrong_audience", "the token is meant for another audience (aud)") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("wrong_issuer", "the token comes from another issuer (iss)") from None
        except jwt.MissingRequiredClaimError as missing:
            raise _missing_claim(missing.claim) from None
        except jwt.InvalidAlgorithmError:
            raise Unauthenticated(
                "bad_algorithm", "the token's algorithm (alg) does not fit its key"
            ) from None
        except jwt.DecodeError:
            raise Unauthenticated("malformed", "the bearer token is not a well-formed JWT") from None
        except jwt.PyJWTError:
            raise Unauthenticated("bad_claims", "the token's claims are not valid") from None
        return claims


def _missing_claim(claim: str) -> Unauthenticated:
    if claim == "aud":
        return Unauthenticated("wrong_audience", "the token names no audience (aud)")
    if claim == "iss":
        return Unauthenticated("wrong_issuer", "the token names no issuer (iss)")
    return Unauthenticated("bad_claims", f"the token has no {claim} claim")


def client_auth(settings: Settings) -> TokenVerifier | None:
    """The verifier GATEWAY_CLIENT_AUTH asks for, or None when callers are trusted as they come."""
    return TokenVerifier(settings) if settings.client_auth == "jwt" else None
