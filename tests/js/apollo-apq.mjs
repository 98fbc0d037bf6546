// Runs one query a few times with Apollo Client and its automatic persisted queries link, set up as
// Apollo's documentation shows (PersistedQueryLink in front of HttpLink, Node's own fetch and crypto),
// and prints one JSON object a line: {"request": {...}} for each HTTP request the link chain sent,
// {"response": {...}} for each answer, and {"result": ...} (or {"thrown": ...}) for each query.
//
//   echo '{"script": "apollo-apq.mjs", "options": {"url": "...", "query": "...", "variables": {...},
//         "headers": {...}, "runs": 2, "useGETForHashedQueries": false}}' | node tests/js/runner.mjs
//
// Each case makes its own client, link chain and cache, and stops the client at its end.
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

// What went over the wire, as a proxy in front of the gateway would see it.
const recordingFetch = (print) => async (input, init = {}) => {
  const url = new URL(typeof input === "string" ? input : input.url);
  const method = (init.method ?? "GET").toUpperCase();
  let fields = {};
  if (method === "GET") {
    fields = Object.fromEntries(url.searchParams.entries());
    if (fields.extensions) fields.extensions = JSON.parse(fields.extensions);
  } else {
    fields = JSON.parse(init.body);
  }
  print({
    request: {
      method,
      sentQuery: typeof fields.query === "string" && fields.query.length > 0,
      extensions: fields.extensions ?? null,
    },
  });
  const response = await fetch(input, init);
  const text = await response.clone().text();
  print({ response: { status: response.status, contentType: response.headers.get("content-type"), body: JSON.parse(text) } });
  return response;
};

export async function run(options, print) {
  const link = new PersistedQueryLink({
    sha256: (text) => createHash("sha256").update(text).digest("hex"),
    useGETForHashedQueries: options.useGETForHashedQueries ?? false,
  }).concat(new HttpLink({ uri: options.url, headers: options.headers ?? {}, fetch: recordingFetch(print) }));
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  try {
    for (let run = 0; run < (options.runs ?? 2); run++) {
      try {
        const result = await client.query({
          query: gql(options.query),
          variables: options.variables ?? {},
          fetchPolicy: "no-cache",
        });
        print({ result: { data: result.data ?? null, error: result.error ? String(result.error) : null } });
      } catch (error) {
        print({ thrown: String(error && error.message ? error.message : error) });
      }
    }
  } finally {
    client.stop();
  }
}
