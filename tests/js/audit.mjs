// Runs graphql-http's GraphQL-over-HTTP server audits against a running server and prints one JSON
// object a line per audit: {"id", "name", "status": "ok" | "warn" | "error", "reason"}.
//
//   node audit.mjs '{"url": "http://127.0.0.1:8000/graphql"}'
import { serverAudits } from "graphql-http";

const options = JSON.parse(process.argv[2]);

for (const audit of serverAudits({ url: options.url })) {
  const result = await audit.fn();
  process.stdout.write(
    JSON.stringify({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.status === "ok" ? null : result.reason,
    }) + "\n",
  );
}
