"""Gateway settings, read from the environment and validated once at start."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

# Named here too, as the settings' own: other modules import them from this one.
from gateway.variables import EXECUTION_MODES as EXECUTION_MODES
from gateway.variables import KINDS, ClientAuthMode, LogFormat, OperationsMode, declared
from gateway.variables import ExecutionMode as ExecutionMode

AuthMode = Literal["token", "aksk"]
AUTH_MODES: tuple[AuthMode, ...] = ("token", "aksk")
# HS256 keys shorter than its 256-bit hash weaken it (RFC 7518, 3.2).
MIN_JWT_SECRET_BYTES = 32
EMULATOR_PROJECT_ID = "demo-project"
EMULATOR_TOKEN = "demo-token"  # noqa: S105 - the embedded emulator's public demo token, not a secret

T = TypeVar("T")


class SettingsError(ValueError):
    """Every problem found in the environment, one per line, each naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    """What the gateway needs to run; `Settings.from_env()` is the only way the CLI builds one."""

    endpoint: str | None = None
    project_id: str = EMULATOR_PROJECT_ID
    auth_mode: AuthMode = "token"
    ak: str | None = field(default=None, repr=False)
    sk: str | None = field(default=None, repr=False)
    redis_url: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: int = 5
    max_connections: int = 10_000
    drain_seconds: float = 10.0
    public_url: str | None = None
    emulator_port: int = 0
    emulator_tokens: tuple[str, ...] = field(default=(EMULATOR_TOKEN,), repr=False)
    connect_timeout: float = 3.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_retries: int = 2
    upstream_max_connections: int = 100
    pool_wedge_seconds: float = 60.0
    call_budget: int = 200
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 1_000
    max_document_bytes: int = 100_000
    upload_max_bytes: int = 10 * 1024 * 1024
    allowed_origins: tuple[str, ...] = ()
    compression: tuple[str, ...] = ("br", "gzip")
    compression_min_bytes: int = 1024
    log_level: str = "info"
    # `text` for a terminal, `json` for one JSON object per line (gateway/logs.py).
    log_format: LogFormat = "text"
    # Spans go out with OTLP over HTTP when set (gateway/tracing.py); the exporter reads its endpoint,
    # headers and other OTEL_* variables from the environment itself.
    otlp_endpoint: str | None = field(default=None, repr=False)
    service_name: str = "metastudio-gateway"
    poll_interval: float = 2.0
    fast_poll_interval: float = 0.5
    # Upstream answers kept per caller (gateway/upstream/readcache.py); 0 keeps none.
    read_cache_seconds: float = 1.0
    read_cache_terminal_seconds: float = 300.0
    read_cache_max_entries: int = 10_000
    read_cache_max_bytes: int = 64 * 1024 * 1024
    fast_poll_seconds: float = 30.0
    max_subscriptions: int = 20_000
    max_subscriptions_per_connection: int = 100
    max_subscriptions_per_caller: int = 500
    # Per caller, shared by every replica through Redis; 0 turns a limit off.
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 500
    create_rate_limit_per_second: float = 2.0
    create_rate_limit_burst: int = 10
    subscriber_queue_size: int = 16
    callback_secret: str | None = field(default=None, repr=False)
    persisted_queries_max: int = 10_000
    # Directories of .graphql files and manifest files; empty: the source tree's queries/.
    trusted_documents: tuple[str, ...] = ()
    # On when built directly (as tests do); `from_env` turns both off in front of a real endpoint.
    introspection: bool = True
    graphiql: bool = True
    operations: OperationsMode = "open"
    execution: ExecutionMode = "planned"
    emulator_admin: bool = False
    client_auth: ClientAuthMode = "none"
    jwt_secret: str | None = field(default=None, repr=False)
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_user_claim: str = "sub"
    jwt_leeway: float = 30.0

    @property
    def uses_emulator(self) -> bool:
        return self.endpoint is None

    def with_upstream(self, endpoint: str, *, ak: str | None = None, sk: str | None = None) -> Settings:
        """The same settings pointed at a concrete upstream (the embedded emulator, once started)."""
        return dataclasses.replace(self, endpoint=endpoint, ak=ak or self.ak, sk=sk or self.sk)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        return _Reader(os.environ if env is None else env).settings()


# Every variable the gateway reads (gateway/variables.toml), and the settings when none is set.
VARIABLES = declared(Settings)
DEFAULTS = Settings()


class _Reader:
    """Reads each variable once, collecting every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def parsed(self, name: str, default: T, parse: Callable[[str], T], rule: str) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError:
            self.problems.append(f"{name}: {value!r} is not {rule}")
            return default

    def settings(self) -> Settings:
        endpoint = self.url("METASTUDIO_ENDPOINT")
        public_url = self.url("GATEWAY_PUBLIC_URL")
        redis_url = self.raw("REDIS_URL")
        if redis_url is not None and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
            self.problems.append("REDIS_URL: must start with redis://, rediss:// or unix://")

        mode = (self.raw("METASTUDIO_AUTH_MODE") or "").lower()
        ak, sk = self.raw("METASTUDIO_AK"), self.raw("METASTUDIO_SK")
        if mode == "":
            # The embedded emulator gets a key pair of its own, so GraphiQL works with no header.
            mode = "aksk" if endpoint is None or (ak and sk) else "token"
        if mode not in AUTH_MODES:
            self.problems.append(f"METASTUDIO_AUTH_MODE: {mode!r} is not one of {', '.join(AUTH_MODES)}")
            mode = "token"
        if mode == "aksk" and endpoint is not None:
            if ak is None:
                self.problems.append("METASTUDIO_AK: required when METASTUDIO_AUTH_MODE is aksk")
            if sk is None:
                self.problems.append("METASTUDIO_SK: required when METASTUDIO_AUTH_MODE is aksk")
        if (ak is None) != (sk is None):
            missing = "METASTUDIO_SK" if sk is None else "METASTUDIO_AK"
            self.problems.append(f"{missing}: METASTUDIO_AK and METASTUDIO_SK must be set together")

        project_id = self.raw("METASTUDIO_PROJECT_ID")
        if project_id is None:
            if endpoint is not None:
                self.problems.append("METASTUDIO_PROJECT_ID: required when METASTUDIO_ENDPOINT is set")
            project_id = EMULATOR_PROJECT_ID
        elif not project_id.replace("-", "").replace("_", "").isalnum():
            self.problems.append("METASTUDIO_PROJECT_ID: may hold only letters, digits, '-' and '_'")

        tokens = tuple(t for t in (self.raw("METASTUDIO_EMULATOR_TOKENS") or EMULATOR_TOKEN).split(",") if t)
        origins = tuple(
            o.strip() for o in (self.raw("GATEWAY_ALLOWED_ORIGINS") or "").split(",") if o.strip()
        )
        client_auth = self.client_auth(endpoint, mode)
        # Each variable read by itself, its default being its field's (the two below: the emulator's).
        unset = {"introspection": endpoint is None, "graphiql": endpoint is None}
        alone: dict[str, Any] = {}
        for variable in VARIABLES:
            if variable.field is not None and variable.kind is not None:
                default = unset.get(variable.field, getattr(DEFAULTS, variable.field))
                alone[variable.field] = self.parsed(
                    variable.name, default, variable.kind.parse, variable.kind.rule
                )
        settings = Settings(
            endpoint=endpoint,
            project_id=project_id,
            auth_mode="aksk" if mode == "aksk" else "token",
            ak=ak,
            sk=sk,
            redis_url=redis_url,
            host=self.raw("GATEWAY_HOST") or DEFAULTS.host,
            public_url=public_url,
            emulator_tokens=tokens,
            allowed_origins=origins,
            otlp_endpoint=self.otlp_endpoint(),
            service_name=self.raw("OTEL_SERVICE_NAME") or DEFAULTS.service_name,
            callback_secret=self.raw("GATEWAY_CALLBACK_SECRET"),
            trusted_documents=tuple(
                t.strip() for t in (self.raw("GATEWAY_TRUSTED_DOCUMENTS") or "").split(",") if t.strip()
            ),
            client_auth=client_auth,
            jwt_secret=self.raw("GATEWAY_JWT_SECRET"),
            jwks_url=self.raw("GATEWAY_JWKS_URL"),
            jwt_issuer=self.raw("GATEWAY_JWT_ISSUER"),
            jwt_audience=self.raw("GATEWAY_JWT_AUDIENCE"),
            jwt_user_claim=self.raw("GATEWAY_JWT_USER_CLAIM") or DEFAULTS.jwt_user_claim,
            **alone,
        )
        self.problems.extend(_client_auth_problems(settings))
        if settings.public_url and settings.redis_url and not settings.callback_secret:
            self.problems.append(
                "GATEWAY_CALLBACK_SECRET: required with GATEWAY_PUBLIC_URL and REDIS_URL, so that every "
                "replica accepts the callbacks the others signed"
            )
        if settings.callback_secret is not None and len(settings.callback_secret) < 16:
            self.problems.append("GATEWAY_CALLBACK_SECRET: must be at least 16 characters")
        self.problems.extend(_trusted_documents_problems(settings.trusted_documents))
        if settings.pool_wedge_seconds <= settings.total_timeout:
            self.problems.append(
                "METASTUDIO_POOL_WEDGE_SECONDS: must exceed METASTUDIO_TOTAL_TIMEOUT, which every call "
                "holding a connection ends within"
            )
        if settings.read_timeout > settings.total_timeout:
            self.problems.append("METASTUDIO_READ_TIMEOUT: must not exceed METASTUDIO_TOTAL_TIMEOUT")
        if settings.read_cache_terminal_seconds < settings.read_cache_seconds:
            self.problems.append(
                "GATEWAY_READ_CACHE_TERMINAL_SECONDS: must not be less than GATEWAY_READ_CACHE_SECONDS"
            )
        if self.problems:
            raise SettingsError(self.problems)
        return settings

    def client_auth(self, endpoint: str | None, auth_mode: str) -> ClientAuthMode:
        if self.raw("GATEWAY_CLIENT_AUTH") is None:
            if endpoint is not None and auth_mode == "aksk":
                self.problems.append(
                    "GATEWAY_CLIENT_AUTH: required with METASTUDIO_ENDPOINT in aksk mode, where the gateway "
                    "signs every call with its own key pair whoever sends it: set jwt to verify each "
                    "caller's bearer JWT, or none to let any caller in under any X-App-UserId it names"
                )
            return "none"
        kind = KINDS["client_auth"]
        client_auth: ClientAuthMode = self.parsed("GATEWAY_CLIENT_AUTH", "none", kind.parse, kind.rule)
        return client_auth

    def otlp_endpoint(self) -> str | None:
        """The OTLP endpoint spans go to, the traces one first; no value is echoed (it may carry a key)."""
        for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
            value = self.raw(name)
            if value is None:
                continue
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                self.problems.append(f"{name}: must be an http:// or https:// URL with a host (OTLP/HTTP)")
                return None
            return value
        return None

    def url(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problems.append(f"{name}: {value!r} is not an http:// or https:// URL with a host")
            return None
        if parts.query or parts.fragment or parts.username or parts.password:
            self.problems.append(f"{name}: must not carry a query, fragment or credentials")
            return None
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError:
            self.problems.append(f"{name}: {value!r} has an invalid port")
            return None
        return value.rstrip("/")


def _trusted_documents_problems(sources: tuple[str, ...]) -> list[str]:
    """Each source read once at start, so a missing file or a bad manifest stops the gateway here."""
    from gateway.trusted import TrustedDocumentsError, load_trusted_documents

    problems = []
    for source in sources:
        if not os.path.exists(source):
            problems.append(f"GATEWAY_TRUSTED_DOCUMENTS: {source} is neither a directory nor a manifest file")
            continue
        try:
            load_trusted_documents([Path(source)])
        except TrustedDocumentsError as exc:
            problems.append(f"GATEWAY_TRUSTED_DOCUMENTS: {exc}")
    return problems


def _client_auth_problems(settings: Settings) -> list[str]:
    """What keeps the client authentication settings from working together; no value is echoed."""
    if settings.client_auth != "jwt":
        named = (
            ("GATEWAY_JWT_SECRET", settings.jwt_secret),
            ("GATEWAY_JWKS_URL", settings.jwks_url),
            ("GATEWAY_JWT_ISSUER", settings.jwt_issuer),
            ("GATEWAY_JWT_AUDIENCE", settings.jwt_audience),
        )
        # Set without jwt, it would leave the gateway open while its operator thinks it checks tokens.
        return [f"{name}: set, but GATEWAY_CLIENT_AUTH is not jwt" for name, value in named if value]
    problems = []
    if settings.auth_mode != "aksk":
        problems.append(
            "GATEWAY_CLIENT_AUTH: jwt needs METASTUDIO_AUTH_MODE=aksk; in token mode the bearer token is "
            "the caller's IAM token, which the gateway forwards to MetaStudio"
        )
    if settings.jwt_secret is None and settings.jwks_url is None:
        problems.append(
            "GATEWAY_CLIENT_AUTH: jwt needs GATEWAY_JWT_SECRET (HS256) or GATEWAY_JWKS_URL (RS256, ES256)"
        )
    if settings.jwt_secret is not None and settings.jwks_url is not None:
        problems.append("GATEWAY_JWKS_URL: set either it or GATEWAY_JWT_SECRET, not both")
    if settings.jwt_secret is not None and len(settings.jwt_secret.encode("utf-8")) < MIN_JWT_SECRET_BYTES:
        problems.append(f"GATEWAY_JWT_SECRET: must be at least {MIN_JWT_SECRET_BYTES} bytes for HS256")
    if settings.jwks_url is not None and not _is_jwks_url(settings.jwks_url):
        problems.append(
            "GATEWAY_JWKS_URL: must be an https:// URL with a host and no credentials "
            "(http:// only on a loopback host)"
        )
    return problems


def _is_jwks_url(value: str) -> bool:
    parts = urlsplit(value)
    if not parts.hostname or parts.username or parts.password:
        return False
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        return False
    if parts.scheme == "https":
        return True
    # Keys fetched in the clear could be swapped on the way; only this machine's own traffic is spared.
    return parts.scheme == "http" and is_loopback(parts.hostname)


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only: localhost, or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
