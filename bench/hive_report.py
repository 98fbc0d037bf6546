"""The side by side with Hive Gateway as a RESULTS.md section: medians, spreads, ratios and the method."""

from __future__ import annotations

import datetime
import statistics

from bench.hive_setup import Json


def summary(row: Json, side: str, key: str) -> tuple[float, float, float]:
    values = [r[side][key] for r in row["runs"]]
    return statistics.median(values), min(values), max(values)


def ratios(row: Json) -> tuple[float, float, float]:
    values = [r["ours"]["rps"] / r["hive"]["rps"] if r["hive"]["rps"] else float("nan") for r in row["runs"]]
    return statistics.median(values), min(values), max(values)


def spread(value: tuple[float, float, float], digits: int) -> str:
    median, low, high = value
    if low == high:
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def format_cell(row: Json) -> str:
    sides = (
        f"{label} {spread(summary(row, side, 'rps'), 0)}/s {spread(summary(row, side, 'cpu_ms'), 2)} ms CPU"
        for label, side in (("ours", "ours"), ("Hive", "hive"))
    )
    return " | ".join([*sides, f"ratio {spread(ratios(row), 2)}"])


def ahead(row: Json) -> bool:
    """The goal of a cell: more requests a second than Hive and less CPU per request, by the medians."""
    return ratios(row)[0] >= 1.0 and summary(row, "ours", "cpu_ms")[0] < summary(row, "hive", "cpu_ms")[0]


def calls_text(calls: list[str]) -> str:
    return "<br>".join(f"`{call}`" for call in calls) or "none"


# What the section says of how it was measured, after the versions.
METHOD = """\
- Set-up: the emulator, the gateway, Hive Gateway and the load generator each in its own process, as in
  section 2 (the same upstream latency and seeded jobs, for each caller). Hive serves
  bench/hive/metastudio.openapi.json (the emulator's list and show video routes, written by hand)
  composed by bench/hive/mesh.config.ts, as one Node process (`--fork 1`, `NODE_ENV=production`, no
  response cache, no JIT), the caller's X-Auth-Token forwarded upstream by the source's operationHeaders.
  Hive's `videoJob(jobId)` (bench/hive/gateway.config.ts) goes through Mesh's batch delegation onto the
  list route's job_ids, the call the gateway's loader makes; its 50-job page is the generated list field.
  Each side asks for the fields the upstream data has (bench/hive/*.graphql beside bench/latency.py's
  payloads). The gateway runs as in section 2 but with its read cache off (Hive keeps no upstream
  answers), and each client is a caller of its own, with its own token and jobs (the gateway shares an
  upstream read in flight among identical requests of one caller, which Hive does not do over REST): so
  both make the same upstream calls for every request.
- Cells: after {warm:.0f} s of unmeasured load per gateway and operation, {warmup:.0f} s warm-up and
  {duration:.0f} s measured per gateway, {repeats} run(s) per cell, the two gateways in turn, the first to
  go swapped every run. Figures are medians, the lowest and highest run in brackets.
- Ratio: our requests a second over Hive's in the same run (above 1.0: we serve more). CPU ms/req: each
  server process's user + system time (/proc/<pid>/stat; every thread of Node's process for Hive) over
  the requests it answered, warm-up included. Calls/req: upstream calls the emulator recorded over the
  requests answered in the cell."""


def section(result: Json, command: str) -> list[str]:
    """The side-by-side as a RESULTS.md section."""
    lines = ["## 6. Hive Gateway side by side", ""]
    if "not measured" in result:
        return [*lines, f"Not measured: {result['not measured']}", ""]
    found, cells, boot = result["versions"], result["cells"], result["boot"]
    met = [row for row in cells if ahead(row)]
    ran = datetime.datetime.now(datetime.UTC)
    rss = {side: max(r[side]["rss_mb"] for row in cells for r in row["runs"]) for side in ("ours", "hive")}

    def side_by_side(row: Json, key: str, digits: int) -> str:
        return f"{spread(summary(row, 'ours', key), digits)} | {spread(summary(row, 'hive', key), digits)}"

    def pair(row: Json, key: str, digits: int) -> str:
        return " / ".join(f"{summary(row, side, key)[0]:.{digits}f}" for side in ("ours", "hive"))

    def errors(row: Json) -> str:
        return " / ".join(f"{sum(r[side]['errors'] for r in row['runs']):.0f}" for side in ("ours", "hive"))

    return [
        *lines,
        f"- Command: `{command}` (this section {result['seconds']:.0f} s), {ran:%Y-%m-%d %H:%M} UTC",
        f"- Peer: Hive Gateway {found['@graphql-hive/gateway']} on Node {found['node']}; supergraph "
        f"composed by @graphql-mesh/compose-cli {found['@graphql-mesh/compose-cli']} with "
        f"@omnigraph/openapi {found['@omnigraph/openapi']}, graphql {found['graphql']} "
        "(bench/hive/package-lock.json)",
        METHOD.format(
            warm=result["warm_s"],
            warmup=result["warmup_s"],
            duration=result["duration_s"],
            repeats=result["repeats"],
        ),
        f"- Goal of issue #13 (ratio >= 1.0 and less CPU per request than Hive, every cell): "
        f"{'met' if len(met) == len(cells) else '**not met**'}, {len(met)} of {len(cells)} cells.",
        "",
        "Upstream calls for one request of each operation (the emulator's call log, parameters sorted) and "
        "whether the data both answers carry is the same:",
        "",
        "| Operation | Gateway's upstream calls | Hive's upstream calls | Same calls | Same data |",
        "|---|---|---|---|---|",
        *(
            f"| {c['operation']} | {calls_text(c['our_calls'])} | {calls_text(c['hive_calls'])} | "
            f"{'yes' if c['same_calls'] else '**NO**'} | {'yes' if c['same_data'] else '**NO**'} |"
            for c in result["checks"]
        ),
        "",
        "| Operation | Clients | Ours req/s | Hive req/s | Ratio ours/Hive | Ours CPU ms/req | "
        "Hive CPU ms/req | p50 ms ours/Hive | p99 ms ours/Hive | Calls/req ours/Hive | Errors ours/Hive |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {row['operation']} | {row['clients']} | {side_by_side(row, 'rps', 0)} | "
            f"{spread(ratios(row), 2)} | {side_by_side(row, 'cpu_ms', 2)} | {pair(row, 'p50_ms', 1)} | "
            f"{pair(row, 'p99_ms', 1)} | {pair(row, 'calls_per_request', 2)} | {errors(row)} |"
            for row in cells
        ),
        "",
        f"- Resident memory (VmRSS): idle 1 s after ready, ours {boot['idle_rss_mb']['ours']:.1f} MB and "
        f"Hive {boot['idle_rss_mb']['hive']:.1f} MB; highest after a cell, ours {rss['ours']:.1f} MB and "
        f"Hive {rss['hive']:.1f} MB.",
        f"- Spawn to ready: ours {boot['ready_s']['ours']:.2f} s (/readyz), Hive "
        f"{boot['ready_s']['hive']:.2f} s (/healthcheck; the supergraph composed before).",
        "",
    ]
