"""Runs the MetaStudio emulator inside the gateway's process when no real endpoint is configured."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import threading
from typing import Any

import uvicorn

from gateway.emulator import EmulatorConfig, create_app
from gateway.settings import Settings

THREAD_NAME = "metastudio-emulator"


class OnlyWarningsFromTheEmulator(logging.Filter):
    """uvicorn's servers share one logger, whose level the gateway's server sets: the embedded emulator's
    server keeps to warnings on it, or its start and stop lines would read as the gateway's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.threadName != THREAD_NAME


class EmbeddedEmulator:
    """An emulator on 127.0.0.1 served from its own thread and event loop, owned by the gateway.

    Its own loop keeps the emulator's simulated latency and life-cycle work off the gateway's loop,
    so the gateway talks to it over real HTTP exactly as it would to the cloud.
    """

    def __init__(self, config: EmulatorConfig, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        # Its lines go through the gateway's log handler; the emulator logs each call it answers itself.
        uv_config = uvicorn.Config(
            create_app(config),
            log_level="warning",
            log_config=None,
            access_log=False,
            lifespan="on",
            loop="asyncio",
        )
        server_log = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, OnlyWarningsFromTheEmulator) for f in server_log.filters):
            server_log.addFilter(OnlyWarningsFromTheEmulator())
        self._server = uvicorn.Server(uv_config)
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # reported to the starting thread, which owns the failure
            self._error = exc

    def start(self, timeout: float = 10.0) -> EmbeddedEmulator:
        self._thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the embedded emulator failed to start: {self._error!r}")
            if waited >= timeout:
                raise RuntimeError(f"the embedded emulator did not start within {timeout:.0f} s")
            deadline.wait(0.02)
            waited += 0.02
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> EmbeddedEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_for(settings: Settings) -> tuple[EmbeddedEmulator, Settings]:
    """Start an emulator that accepts these settings' credentials, and point the settings at it.

    In aksk mode without a configured key pair, a fresh one is made for this run only. Its admin routes
    (which let anyone who reaches the emulator rewrite jobs) exist only when METASTUDIO_EMULATOR_ADMIN asks.
    """
    ak, sk = settings.ak, settings.sk
    if settings.auth_mode == "aksk" and (ak is None or sk is None):
        ak, sk = "EMULATOR" + secrets.token_hex(6).upper(), secrets.token_urlsafe(24)
    config = EmulatorConfig(
        project_id=settings.project_id,
        tokens=settings.emulator_tokens,
        credentials={ak: sk} if ak and sk else {},
        admin_enabled=settings.emulator_admin,
    )
    emulator = EmbeddedEmulator(config, port=settings.emulator_port).start()
    return emulator, settings.with_upstream(emulator.url, ak=ak, sk=sk)
