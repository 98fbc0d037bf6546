// A page on another origin than the gateway, using it as a browser app would: a query and a mutation
// with plain `fetch` (the README's "Browser fetch" snippet), then one job followed live with graphql-ws
// over a WebSocket or graphql-sse over a streamed POST. The gateway, token, jobs and transport come from
// the query string.
(function () {
  "use strict";

  var params = new URLSearchParams(window.location.search);
  var endpoint = params.get("gateway");
  var token = params.get("token");
  var transport = params.get("transport");

  var JOB = "query Job($jobId: String!) { videoJob(jobId: $jobId) { jobId kind state } }";
  var CANCEL =
    "mutation Cancel($jobId: String!) { cancelVideoJob(jobId: $jobId) { job { jobId state } " +
    "userErrors { code message } } }";
  var FOLLOW =
    "subscription Follow($jobId: String!) { videoJobStateChanged(jobId: $jobId) { jobId state terminal } }";

  function show(id, text, status) {
    var output = document.getElementById(id);
    output.textContent = text;
    output.setAttribute("data-status", status);
  }

  function codes(errors) {
    return errors.map(function (error) {
      return error.extensions && error.extensions.code;
    });
  }

  async function graphql(query, variables) {
    var response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/graphql-response+json, application/json",
        "X-Auth-Token": token,
      },
      body: JSON.stringify({ query: query, variables: variables }),
    });
    return response.json();
  }

  async function run(id, work) {
    try {
      show(id, await work(), "done");
    } catch (error) {
      show(id, "failed: " + error, "failed");
    }
  }

  function follow(jobId) {
    var sink = {
      next: function (result) {
        var item = document.createElement("li");
        if (result.errors) {
          item.textContent = "errors " + codes(result.errors).join(",");
        } else {
          var job = result.data.videoJobStateChanged;
          item.textContent = job.jobId + " " + job.state + (job.terminal ? " (ended)" : "");
        }
        document.getElementById("events").appendChild(item);
      },
      error: function (error) {
        // graphql-ws reports a refused or dropped socket with the socket's own event, not an Error.
        var reason = error instanceof Error ? error.message : "the connection failed";
        show("live", "failed: " + reason, "failed");
      },
      complete: function () {
        show("live", "complete", "done");
      },
    };
    var request = { query: FOLLOW, variables: { jobId: jobId } };
    if (transport === "graphql-ws") {
      var socket = new URL(endpoint);
      socket.protocol = socket.protocol === "https:" ? "wss:" : "ws:";
      var ws = graphqlWs.createClient({
        url: socket.href,
        connectionParams: { "X-Auth-Token": token },
        retryAttempts: 0,
      });
      ws.subscribe(request, sink);
    } else {
      var sse = graphqlSse.createClient({
        url: endpoint,
        headers: { "X-Auth-Token": token },
        retryAttempts: 0,
      });
      sse.subscribe(request, sink);
    }
  }

  document.getElementById("transport").textContent = transport;

  run("job", async function () {
    var body = await graphql(JOB, { jobId: params.get("job") });
    if (body.errors) {
      return "errors " + codes(body.errors).join(",");
    }
    var job = body.data.videoJob;
    return job.jobId + " " + job.kind + " " + job.state;
  })
    .then(function () {
      return run("canceled", async function () {
        var body = await graphql(CANCEL, { jobId: params.get("cancel") });
        if (body.errors) {
          return "errors " + codes(body.errors).join(",");
        }
        var payload = body.data.cancelVideoJob;
        if (payload.userErrors.length) {
          return "refused " + payload.userErrors[0].code;
        }
        return payload.job.jobId + " " + payload.job.state;
      });
    })
    .then(function () {
      return run("missing", async function () {
        var body = await graphql(JOB, { jobId: "no-such-job" });
        return "videoJob " + JSON.stringify(body.data.videoJob) + ", errors " + codes(body.errors).join(",");
      });
    })
    .then(function () {
      follow(params.get("job"));
    });
})();
