// Runs one GraphQL subscription with a real client library and prints what it receives, one JSON
// object a line: {"next": <execution result>} for each event, then {"complete": true} or {"error": ...}.
//
//   echo '{"script": "subscribe.mjs", "options": {"transport": "graphql-ws" | "graphql-sse"
//         | "graphql-sse-single-connection", "url": "...", "query": "...", "variables": {...},
//         "connectionParams": {...}, "headers": {...}}}' | node tests/js/runner.mjs
//
// graphql-ws speaks graphql-transport-ws over a WebSocket (ws as the socket in Node); graphql-sse uses
// its distinct connections mode (one streamed POST per operation), and graphql-sse-single-connection
// its single connection mode (a PUT reserves a stream, one GET carries it, each operation is a POST).
import { createClient as createWsClient } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import WebSocket from "ws";

function described(error) {
  if (Array.isArray(error)) {
    return { graphqlErrors: error };
  }
  if (error && typeof error === "object" && "code" in error && "reason" in error) {
    return { closeCode: error.code, closeReason: error.reason };
  }
  if (error && typeof error === "object" && "response" in error && error.response) {
    return { status: error.response.status, message: String(error.message) };
  }
  return { message: String(error && error.message ? error.message : error) };
}

function client(options) {
  if (options.transport === "graphql-ws") {
    return createWsClient({
      url: options.url,
      webSocketImpl: WebSocket,
      connectionParams: options.connectionParams ?? {},
      retryAttempts: 0,
      lazy: true,
    });
  }
  if (options.transport === "graphql-sse" || options.transport === "graphql-sse-single-connection") {
    return createSseClient({
      url: options.url,
      headers: options.headers ?? {},
      retryAttempts: 0,
      singleConnection: options.transport === "graphql-sse-single-connection",
    });
  }
  throw new Error(`unknown transport ${options.transport}`);
}

// A new client for each case, disposed of at its end whatever happened.
export async function run(options, print) {
  const subscriptions = client(options);
  try {
    await new Promise((resolve) => {
      subscriptions.subscribe(
        { query: options.query, variables: options.variables ?? {} },
        {
          next: (result) => print({ next: result }),
          error: (error) => {
            print({ error: described(error) });
            resolve();
          },
          complete: () => {
            print({ complete: true });
            resolve();
          },
        },
      );
    });
  } finally {
    await subscriptions.dispose();
  }
}
