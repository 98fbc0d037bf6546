// Runs graphql-http's GraphQL-over-HTTP server audits against a running server and prints one JSON
// object a line per audit: {"id", "name", "status": "ok" | "warn" | "error", "reason"}.
//
//   echo '{"script": "audit.mjs", "options": {"url": "http://127.0.0.1:8000/graphql"}}' \
//     | node tests/js/runner.mjs
import { serverAudits } from "graphql-http";

export async function run(options, print) {
  for (const audit of serverAudits({ url: options.url })) {
    const result = await audit.fn();
    print({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.status === "ok" ? null : result.reason,
    });
  }
}
