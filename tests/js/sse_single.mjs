// Runs several GraphQL operations at once through ONE graphql-sse client in single connection mode and
// prints, one JSON object a line, what each receives: {"op": i, "next": result}, {"op": i, "stopped":
// true} when it unsubscribes after `stopAfter` results, {"op": i, "complete": true} or {"op": i,
// "error": ...}; then {"requests": [...]}, every HTTP request the client made ("PUT", "GET stream",
// "POST", "DELETE"...).
//
//   echo '{"script": "sse_single.mjs", "options": {"url": "...", "headers": {...}, "operations":
//         [{"query": "...", "variables": {...}, "stopAfter": 1}, ...]}}' | node tests/js/runner.mjs
//
// Each case makes its own client and disposes of it at its end.
import { createClient } from "graphql-sse";

export async function run(options, print) {
  const requests = [];
  const client = createClient({
    url: options.url,
    headers: options.headers ?? {},
    retryAttempts: 0,
    singleConnection: true,
    fetchFn: (url, init = {}) => {
      const accept = init.headers?.accept ?? "";
      const method = init.method ?? "GET";
      requests.push(accept === "text/event-stream" ? `${method} stream` : method);
      return fetch(url, init);
    },
  });
  try {
    await Promise.all(
      options.operations.map(
        (operation, op) =>
          new Promise((resolve) => {
            let received = 0;
            const unsubscribe = client.subscribe(
              { query: operation.query, variables: operation.variables ?? {} },
              {
                next: (result) => {
                  print({ op, next: result });
                  received += 1;
                  if (operation.stopAfter && received === operation.stopAfter) {
                    print({ op, stopped: true });
                    unsubscribe();
                  }
                },
                error: (error) => {
                  print({ op, error: String(error && error.message ? error.message : error) });
                  resolve();
                },
                complete: () => {
                  print({ op, complete: true });
                  resolve();
                },
              },
            );
          }),
      ),
    );
    print({ requests });
  } finally {
    client.dispose();
  }
}
