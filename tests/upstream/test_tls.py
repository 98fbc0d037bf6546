"""Upstream TLS: certificates verified against OpenSSL's default CA store (SSL_CERT_FILE honoured),
one store loaded per process, and an untrusted upstream refused with the reason named."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.upstream import Credentials, UpstreamClient, UpstreamConfig, UpstreamUnavailable, pool

ANSWER = b'{"count": 0, "videos": []}'
CALLER = Credentials(token="t1-caller-iam-token", app_user_id="tls")


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA of the test's own (ca.pem) and a certificate it signed for 127.0.0.1 (server.pem, key.pem)."""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("upstream test CA"))
        .issuer_name(_name("upstream test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(ANSWER), ANSWER)
        )
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        pass  # the client refused the handshake
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def serving(certificates: Path) -> AsyncIterator[str]:
    """An upstream on https://127.0.0.1 with the test CA's certificate, answering every call alike."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "server.pem", certificates / "key.pem")
    server = await asyncio.start_server(_answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"https://127.0.0.1:{port}"


@pytest.fixture
async def tls_upstream(certificates: Path) -> AsyncIterator[str]:
    async with serving(certificates) as url:
        yield url


async def test_an_upstream_whose_certificate_no_trusted_ca_signed_is_refused(tls_upstream: str) -> None:
    config = UpstreamConfig(tls_upstream, "demo-project", max_retries=0)
    async with UpstreamClient(config) as client:
        with pytest.raises(UpstreamUnavailable) as refused:
            await client.list_digital_human_videos(CALLER, limit=1)
    assert "certificate verify failed" in str(refused.value.__cause__)


def test_an_upstream_signed_by_the_ca_of_ssl_cert_file_is_trusted(certificates: Path) -> None:
    # The default CA store is read when aiohttp is imported: another process, with SSL_CERT_FILE set.
    script = textwrap.dedent(
        """
        import asyncio
        from tests.upstream import test_tls as tls

        async def main():
            async with tls.serving(tls.Path(r"{folder}")) as url:
                config = tls.UpstreamConfig(url, "demo-project", max_retries=0)
                async with tls.UpstreamClient(config) as client:
                    print(await client.list_digital_human_videos(tls.CALLER, limit=1))

        asyncio.run(main())
        """
    ).format(folder=certificates)
    env = {**os.environ, "SSL_CERT_FILE": str(certificates / "ca.pem")}
    env.pop("SSL_CERT_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'count': 0, 'videos': []}"


def test_the_upstream_transport_loads_no_ca_store_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[object] = []

    def load_verify_locations(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loaded.append(args or kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", load_verify_locations)
    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", load_verify_locations)
    transport = pool.upstream_transport(httpx.Limits(max_connections=5))
    assert loaded == []
    assert isinstance(transport, pool.UpstreamTransport)
    assert transport.tls is True  # aiohttp's default context, loaded once at its import


def test_without_a_default_ca_store_certifis_bundle_is_the_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere: Any = None  # what the paths are when neither exists
    monkeypatch.setattr(
        ssl, "get_default_verify_paths", lambda: ssl.DefaultVerifyPaths(nowhere, nowhere, "", "", "", "")
    )
    tls = pool.upstream_tls()
    assert isinstance(tls, ssl.SSLContext)
    assert tls.verify_mode == ssl.CERT_REQUIRED and tls.check_hostname
    assert tls.cert_store_stats()["x509_ca"] > 100
