// Runs one GraphQL operation with a real client library, set up as its documentation shows, and prints
// what an app using it would see, one JSON object a line: {"result": ...} for each result, then
// {"complete": true}, or {"thrown": ...} when the library throws.
//
//   echo '{"script": "clients.mjs", "options": {"client": "urql" | "urql-multipart" | "urql-graphql-sse"
//         | "graphql-request" | "apollo", "url": "...", "query": "...", "variables": {...},
//         "headers": {...}}}' | node tests/js/runner.mjs
//
// urql: `cacheExchange` and `fetchExchange` with `fetchSubscriptions: true`, nothing else; its own Accept
// headers, so subscriptions go as a POST the gateway answers with Server-Sent Events. urql-multipart is
// the same client asking for multipart HTTP (Apollo's multipart subscription protocol) instead.
// urql-graphql-sse hands subscriptions to graphql-sse through `subscriptionExchange`, as urql's
// subscription guide does. graphql-request: `GraphQLClient(url, { headers }).request(...)`. apollo:
// Apollo Client with automatic persisted queries, as the README sets it up (tests/test_persisted_js.py
// follows the persisted-query exchange itself on the wire). Each case makes its own client and ends it.
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "@urql/core";
import { getOperationAST, parse } from "graphql";
import { ClientError, GraphQLClient } from "graphql-request";
import { createClient as createSseClient } from "graphql-sse";
import { onEnd, pipe, subscribe } from "wonka";

// What urql hands the app: data, and a CombinedError split into the errors the server sent and the
// failure of the request itself.
function urqlResult(result) {
  const seen = { data: result.data ?? null, hasNext: result.hasNext };
  if (result.error) {
    seen.graphQLErrors = result.error.graphQLErrors.map((error) => ({
      message: error.message,
      path: error.path ?? null,
      extensions: error.extensions ?? {},
    }));
    seen.networkError = result.error.networkError ? String(result.error.networkError.message) : null;
  }
  return seen;
}

// Node's own fetch, also saying which media type each answer came as ({"response": {"contentType": ...}}),
// so a test knows which transport carried a subscription.
function reportingFetch(print) {
  return async (input, init) => {
    const response = await fetch(input, init);
    print({ response: { status: response.status, contentType: response.headers.get("content-type") } });
    return response;
  };
}

// The urql client, and the graphql-sse client under it (urql-graphql-sse) or null.
function urqlClient(options, print) {
  const headers = options.headers ?? {};
  const exchanges = [cacheExchange, fetchExchange];
  let sse = null;
  if (options.client === "urql-graphql-sse") {
    sse = createSseClient({ url: options.url, headers, retryAttempts: 0 });
    exchanges.push(
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return {
            subscribe(sink) {
              const unsubscribe = sse.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    );
  }
  const fetchHeaders = { ...headers };
  if (options.client === "urql-multipart") {
    fetchHeaders.accept = 'multipart/mixed;subscriptionSpec="1.0", application/json';
  }
  const client = new Client({
    url: options.url,
    exchanges,
    fetchSubscriptions: options.client !== "urql-graphql-sse",
    fetchOptions: { headers: fetchHeaders },
    fetch: reportingFetch(print),
  });
  return { client, sse };
}

async function runUrql(options, print) {
  const { client, sse } = urqlClient(options, print);
  try {
    const kind = getOperationAST(parse(options.query)).operation;
    if (kind === "subscription") {
      await new Promise((resolve) => {
        pipe(
          client.subscription(options.query, options.variables ?? {}),
          onEnd(resolve),
          subscribe((result) => print({ result: urqlResult(result) })),
        );
      });
    } else {
      const operation = kind === "mutation" ? client.mutation : client.query;
      const result = await operation.call(client, options.query, options.variables ?? {}).toPromise();
      print({ result: urqlResult(result) });
    }
  } finally {
    sse?.dispose();
  }
  print({ complete: true });
}

async function runGraphQLRequest(options, print) {
  const client = new GraphQLClient(options.url, { headers: options.headers ?? {} });
  try {
    print({ result: { data: await client.request(options.query, options.variables ?? {}) } });
  } catch (error) {
    if (!(error instanceof ClientError)) {
      throw error;
    }
    // The errors and partial data of a response that had errors, as graphql-request throws them.
    const { data, errors, status } = error.response;
    print({ thrown: { status, data: data ?? null, errors } });
  }
  print({ complete: true });
}

// The README's Apollo Client set-up: automatic persisted queries in front of HttpLink, hashing with the
// Web Crypto API that browsers and Node share.
async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function runApollo(options, print) {
  const client = new ApolloClient({
    link: new PersistedQueryLink({ sha256 }).concat(
      new HttpLink({ uri: options.url, headers: options.headers ?? {} }),
    ),
    cache: new InMemoryCache(),
  });
  const document = gql(options.query);
  const variables = options.variables ?? {};
  try {
    const result =
      getOperationAST(document).operation === "mutation"
        ? await client.mutate({ mutation: document, variables })
        : await client.query({ query: document, variables });
    print({ result: { data: result.data ?? null } });
  } catch (error) {
    if (!CombinedGraphQLErrors.is(error)) {
      throw error;
    }
    print({ thrown: { data: error.data ?? null, errors: error.errors } });
  } finally {
    client.stop();
  }
  print({ complete: true });
}

export async function run(options, print) {
  if (options.client === "graphql-request") {
    await runGraphQLRequest(options, print);
  } else if (options.client === "apollo") {
    await runApollo(options, print);
  } else {
    await runUrql(options, print);
  }
}
