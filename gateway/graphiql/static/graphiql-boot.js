/*
 * Starts GraphiQL with the explorer plugin on the gateway's own page. It lives in a file rather than an
 * inline <script> so the page runs under `script-src 'self'`; the endpoint comes from the container's
 * data-endpoint attribute.
 */
(function () {
  "use strict";

  var WELCOME = [
    "# MetaStudio gateway",
    "#",
    "# Put your token in the Headers tab below:",
    '#   { "X-Auth-Token": "..." }',
    "#",
    "# Run: Ctrl-Enter   Complete: Ctrl-Space",
    "# The Explorer on the left builds queries",
    "# from the fields you click.",
    "",
    "{",
    "  __typename",
    "}",
    "",
  ].join("\n");

  var container = document.getElementById("graphiql");
  var endpoint = new URL(container.getAttribute("data-endpoint"), window.location.href);
  endpoint.search = "";
  endpoint.hash = "";
  var socket = new URL(endpoint.href);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  // Shareable links carry the query as ?q= (a ?query= GET runs the query instead of opening this page) and
  // the variables; headers stay out of the URL because they hold tokens.
  var shared = new URLSearchParams(window.location.search);
  function share(key, value) {
    if (value) {
      shared.set(key, value);
    } else {
      shared.delete(key);
    }
    var search = shared.toString();
    window.history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }

  var fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: socket.href,
  });

  ReactDOM.createRoot(container).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultQuery: WELCOME,
      query: shared.get("q") || undefined,
      variables: shared.get("variables") || undefined,
      onEditQuery: function (query) {
        share("q", query === WELCOME ? "" : query);
      },
      onEditVariables: function (variables) {
        share("variables", variables);
      },
      isHeadersEditorEnabled: true,
      // Tokens typed into the headers editor are not written to localStorage.
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
      inputValueDeprecation: true,
    }),
  );
})();
