"""Upstream calls per operation: every file in queries/ run once against a real emulator server and the
gateway, its calls counted by the emulator, beside the minimum the upstream API allows for it (the
table and variable builders are the ones tests/test_queries.py asserts)."""

from __future__ import annotations

from gateway.emulator import create_app as create_emulator
from tests.support.gateway import emulator_config, gateway_client
from tests.support.servers import serve
from tests.test_queries import OPERATIONS, run_operation


async def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with serve(create_emulator(emulator_config())) as emulator:
        for name, operation in sorted(OPERATIONS.items()):
            async with gateway_client(emulator.url) as gateway:
                body = await run_operation(gateway, name)
                calls = len(await gateway.calls())
            rows.append(
                {
                    "operation": name.removesuffix(".graphql"),
                    "calls": calls,
                    "minimum": operation.upstream_calls,
                    "errors": len(body.get("errors", [])),
                    "met": calls == operation.upstream_calls and "errors" not in body,
                }
            )
    return rows


if __name__ == "__main__":
    import asyncio

    for result in asyncio.run(run()):
        print(result)
