"""Client authentication fixtures: signing keys, a JWKS over HTTP and gateways checking tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.client_auth import SECRET, Gateway, IdentityProvider, Issuer, SigningKey, jwt_gateway
from tests.support.servers import LoopbackServer, serve


@pytest.fixture(scope="module")
def key1() -> SigningKey:
    return SigningKey.rsa("rsa-2024")


@pytest.fixture(scope="module")
def key2() -> SigningKey:
    return SigningKey.rsa("rsa-2025")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.ec("ec-2025")


@pytest.fixture
def idp(key1: SigningKey, ec_key: SigningKey) -> Iterator[Issuer]:
    provider = IdentityProvider()
    provider.publish(key1, ec_key)
    with serve(provider.app()) as server:
        yield Issuer(provider, server.url)


@pytest.fixture
async def gateway(emulator: LoopbackServer, idp: Issuer) -> AsyncIterator[Gateway]:
    async with jwt_gateway(emulator.url, jwks_url=idp.jwks_url) as gateway:
        yield gateway


@pytest.fixture
async def hs_gateway(emulator: LoopbackServer) -> AsyncIterator[Gateway]:
    async with jwt_gateway(emulator.url, jwt_secret=SECRET) as gateway:
        yield gateway
