// Runs the JavaScript client cases of tests/js one after another in one Node process, so the client
// libraries are loaded once per test process rather than once per case (tests/support/node.py starts it).
//
// Reads one request a line on stdin, {"script": "clients.mjs", "options": {...}}; imports that module of
// this directory (once: Node keeps it), calls its `run(options, print)` and writes each message the case
// prints as one JSON line on stdout, then one line ending the case: {"end": "ok"}, or {"end": "failed",
// "error": "<stack>"} when it threw. One case at a time, in the order they came. Stdout carries only those
// lines: whatever else writes to it (a library's console.log) goes to stderr.
//
//   echo '{"script": "audit.mjs", "options": {"url": "http://127.0.0.1:8000/graphql"}}' \
//     | node tests/js/runner.mjs
//
// Between cases nothing is left over: each case makes its own clients and ends them, and `fetch` gets a
// fresh connection pool, as in a new process. A module may export `close()` for what it keeps across
// cases (browser.mjs: one Chromium); it is called when stdin ends, then the runner exits.
import { createInterface } from "node:readline";

const SCRIPT = /^[\w-]+\.mjs$/;
// Node's fetch (undici) keeps its connections in the dispatcher under this name.
const DISPATCHER = Symbol.for("undici.globalDispatcher.1");

// Stdout is the protocol's: anything else written to it (console.log in a library) goes to stderr.
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);

function send(line) {
  write(JSON.stringify(line) + "\n");
}

const loaded = new Map();
// The case running now: how to end it with an error thrown outside its own promise chain.
let running = null;

// An error no case caught (an unhandled rejection, an exception in an event handler): during a case it
// fails that case, as it would have ended a process of its own (tests/support/node.py then starts a new
// runner, as it does after any failed case). Between cases, from something a finished case left behind, it
// is only reported.
function uncaught(error) {
  if (running !== null) {
    running.fail(error);
  } else {
    process.stderr.write(`runner: uncaught between cases: ${described(error)}\n`);
  }
}
process.on("uncaughtException", uncaught);
process.on("unhandledRejection", uncaught);
// On SIGTERM, exit (puppeteer-core's own handler would only close Chromium): Chromium, if launched, is
// killed on the way out by puppeteer-core's exit hook.
process.on("SIGTERM", () => process.exit(143));

function described(error) {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

async function load(script) {
  if (!SCRIPT.test(script) || script === "runner.mjs") {
    throw new Error(`no such case script: ${JSON.stringify(script)}`);
  }
  if (!loaded.has(script)) {
    const module = import(new URL(script, import.meta.url).href);
    loaded.set(script, module);
    module.catch(() => loaded.delete(script));
  }
  const module = await loaded.get(script);
  if (typeof module.run !== "function") {
    throw new Error(`${script} exports no run(options, print)`);
  }
  return module;
}

// A new connection pool for `fetch`, the old one's connections closed, as in a new process.
async function freshConnections() {
  const dispatcher = globalThis[DISPATCHER];
  if (dispatcher !== undefined) {
    globalThis[DISPATCHER] = new dispatcher.constructor();
    await dispatcher.destroy();
  }
}

// What the case's run() gives, or the first uncaught error while it runs.
function settled(run) {
  return new Promise((resolve, reject) => {
    running = { fail: reject };
    run().then(resolve, reject);
  });
}

async function runCase(line) {
  let script = "?";
  let open = true;
  const print = (message) => {
    if (!open) {
      process.stderr.write(`runner: ${script} printed after it ended: ${JSON.stringify(message)}\n`);
    } else if (message === null || typeof message !== "object" || "end" in message) {
      throw new Error(`a case prints objects without an "end" key, not ${JSON.stringify(message)}`);
    } else {
      send(message);
    }
  };
  let end;
  try {
    const request = JSON.parse(line);
    script = request.script;
    const module = await load(script);
    await settled(() => module.run(request.options ?? {}, print));
    end = { end: "ok" };
  } catch (error) {
    end = { end: "failed", error: described(error) };
  } finally {
    open = false;
    running = null;
  }
  try {
    await freshConnections();
  } catch (error) {
    process.stderr.write(`runner: closing ${script}'s connections: ${described(error)}\n`);
  }
  send(end);
}

async function close() {
  for (const [script, module] of loaded) {
    try {
      await (await module).close?.();
    } catch (error) {
      process.stderr.write(`runner: closing ${script}: ${described(error)}\n`);
    }
  }
}

let cases = Promise.resolve();
const requests = createInterface({ input: process.stdin, crlfDelay: Infinity });
requests.on("line", (line) => {
  cases = cases.then(() => runCase(line));
});
requests.on("close", async () => {
  await cases;
  await close();
  process.exit(0);
});
