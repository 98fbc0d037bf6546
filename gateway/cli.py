"""Command line: `metastudio-gateway serve` runs the gateway, `emulator` the emulator, `manifest` prints the
persisted-query manifest."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import os
import sys
from collections.abc import Sequence

import orjson
import uvicorn
from uvicorn.config import STARTUP_FAILURE

from gateway import __version__, log_output, redaction
from gateway.settings import EMULATOR_PROJECT_ID, Settings, SettingsError, is_loopback

log = logging.getLogger("gateway")

# How long a frozen emulator's jobs stay in each automatic state: longer than any run.
FROZEN_SECONDS = 1e9
# The cyclic collector's thresholds while serving: Python's own. Each request leaves a few hundred
# objects in reference cycles (graphql-core's executor, the loaders and the futures they prime); with
# thresholds of (50000, 50, 100) those of requests still in flight at a collection reached the oldest
# generation, which was then seldom collected, and a load run left some 200,000 of them behind: 155 MB
# resident instead of 85 MB (bench/RESULTS.md, "Memory"). Collecting them costs 2 % of the CPU.
COLLECTOR_THRESHOLDS = (700, 10, 10)


def tune_collector() -> None:
    """Fewer collections while serving: everything loaded by start-up (modules, the schema) moves out
    of the collector's sight, so that no collection goes through it again."""
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metastudio-gateway",
        description="GraphQL gateway for Huawei Cloud MetaStudio jobs.",
        epilog="Settings come from the environment; see the README's settings table.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the gateway (on the embedded emulator by default)")
    serve.add_argument("--host", help="interface to listen on (default: GATEWAY_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: GATEWAY_PORT or 8000)")

    emulator = commands.add_parser("emulator", help="run the MetaStudio emulator on its own")
    emulator.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    emulator.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001)")
    emulator.add_argument(
        "--token",
        action="append",
        dest="tokens",
        help="accepted X-Auth-Token (repeatable; default demo-token)",
    )
    emulator.add_argument(
        "--admin", action="store_true", help="enable the /_emulator admin routes (for tests)"
    )
    emulator.add_argument("--no-seed", action="store_true", help="start with no demo jobs")
    emulator.add_argument(
        "--speed", type=float, default=1.0, help="run job life cycles this many times faster (default 1)"
    )
    emulator.add_argument(
        "--frozen",
        action="store_true",
        help="jobs never move or fail on their own, only through the admin routes (for benchmarks)",
    )
    manifest = commands.add_parser(
        "manifest",
        help="print the persisted-query manifest of the trusted documents (queries/ by default)",
    )
    manifest.add_argument(
        "--relay", action="store_true", help="print Relay's {id: text} map instead of Apollo's manifest"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        if os.environ.get("GATEWAY_LOG_FORMAT", "").strip().lower() == "json":
            log_output.configure("json", "error")
        say_error(f"metastudio-gateway: {exc}")
        return 2
    log_output.configure(settings.log_format, settings.log_level, secrets=redaction.secret_settings(settings))
    if args.command == "emulator":
        return run_emulator(args, settings)
    if args.command == "manifest":
        return print_manifest(settings, relay=args.relay)
    overrides = {
        k: v for k, v in (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None))) if v
    }
    return run_gateway(dataclasses.replace(settings, **overrides))


def run_gateway(settings: Settings) -> int:
    from gateway.app import create_app
    from gateway.server import UnsupportedServer, build_server

    emulator = None
    if settings.uses_emulator:
        from gateway.embedded import start_for

        emulator, settings = start_for(settings)
        # The emulator's key pair may be made for this run.
        redaction.redact.add(redaction.secret_settings(settings))
    try:
        app = create_app(settings)
        try:
            server = build_server(app, settings, app.state.drain)
        except UnsupportedServer as exc:
            say_error(f"metastudio-gateway: {exc}")
            return 2
        say(f"metastudio-gateway {__version__}")
        say(f"  GraphiQL:   http://{settings.host}:{settings.port}/graphql")
        say(f"  Health:     http://{settings.host}:{settings.port}/healthz")
        if emulator is not None:
            say(f"  Emulator:   {emulator.url}/v1/{settings.project_id} (embedded)")
            if emulator.config.admin_enabled:
                say(f"  Admin:      {emulator.url}/_emulator/calls")
            say(f"  Auth mode:  {settings.auth_mode} (demo token for token mode: demo-token)")
        else:
            say(f"  Upstream:   {settings.endpoint} (project {settings.project_id})")
        if emulator is not None and not is_loopback(settings.host):
            warn_public_demo(settings.host)
        tune_collector()
        server.run()
        if not server.started:
            return STARTUP_FAILURE
    finally:
        if emulator is not None:
            emulator.stop()
    return 0


DEMO_WARNING = (
    "WARNING: serving the DEMO emulator with DEMO credentials on {host}, reachable beyond this machine: "
    "anyone who reaches it may use it, signed with the demo key or with the public demo token. Set "
    "METASTUDIO_ENDPOINT for a real upstream, or listen on 127.0.0.1."
)


def warn_public_demo(host: str) -> None:
    """Printed (in text) and logged: a demo gateway listening beyond loopback is rarely what was meant."""
    message = DEMO_WARNING.format(host=host)
    banner = "!" * 78
    if not log_output.json_configured():
        print(f"{banner}\n{message}\n{banner}", flush=True)
    log.warning(message)


def say(line: str) -> None:
    """A start-up line: printed for a terminal; with JSON logs, a log record like every other line."""
    if log_output.json_configured():
        log.info(line.strip())
    else:
        print(line, flush=True)


def say_error(line: str) -> None:
    if log_output.json_configured():
        log.error(line)
    else:
        print(line, file=sys.stderr)


def print_manifest(settings: Settings, *, relay: bool) -> int:
    from gateway.trusted import apollo_manifest, load_trusted_documents, relay_manifest, trusted_sources

    sources = trusted_sources(settings.trusted_documents)
    if not sources:
        say_error("metastudio-gateway: no trusted documents: set GATEWAY_TRUSTED_DOCUMENTS")
        return 2
    documents = load_trusted_documents(sources)
    manifest = relay_manifest(documents) if relay else apollo_manifest(documents)
    sys.stdout.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n")
    return 0


def run_emulator(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.emulator import EmulatorConfig, Timings, create_app

    if args.speed <= 0:
        say_error("metastudio-gateway: --speed must be a positive number")
        return 2
    base = Timings()
    timings = dataclasses.replace(
        base,
        **{
            f.name: getattr(base, f.name) / args.speed
            for f in dataclasses.fields(Timings)
            if f.type in ("float", float) and f.name != "failure_rate"
        },
    )
    if args.frozen:
        timings = Timings(
            video_waiting=FROZEN_SECONDS,
            video_processing=FROZEN_SECONDS,
            picture_waiting=FROZEN_SECONDS,
            picture_processing=FROZEN_SECONDS,
            training_step=FROZEN_SECONDS,
            failure_rate=0.0,
        )
    credentials = {settings.ak: settings.sk} if settings.ak and settings.sk else {}
    config = EmulatorConfig(
        project_id=os.environ.get("METASTUDIO_PROJECT_ID") or EMULATOR_PROJECT_ID,
        tokens=tuple(args.tokens or settings.emulator_tokens),
        credentials=credentials,
        timings=timings,
        seed_demo_data=not args.no_seed,
        admin_enabled=args.admin,
    )
    say(f"MetaStudio emulator: http://{args.host}:{args.port}/v1/{config.project_id}")
    # Its lines go through the log handler `main` set up; the emulator logs each call it answers itself.
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
    )
    return 0
