// Opens one page in headless Chromium (Debian's /usr/bin/chromium, driven by puppeteer-core, which
// downloads no browser) and prints what the page shows, one JSON object a line, then every URL the
// page asked for and every error its console reported:
//
//   echo '{"script": "browser.mjs", "options": {"page": "follower" | "graphiql", "url": "...",
//         "chromium": "/usr/bin/chromium"}}' | node tests/js/runner.mjs
//
// The runner's first browser case launches Chromium, and later ones reuse it until the runner ends
// (close()); each case opens its page in a new incognito browser context, closed at the end of the case,
// as a new browser session would: no cookies, storage or cache from an earlier case.
//
// follower (tests/js/browser/): {"event": "<text>"} for each live event as it appears, then
//   {"shown": {"job": ..., "canceled": ..., "missing": ..., "live": ..., "events": [...]}}.
// graphiql: runs the query of its ?q= link with the Run button, then {"shown": {"result": "<text>"}}.
// Last: {"requests": [...], "consoleErrors": [...]}.
import puppeteer from "puppeteer-core";

// Long enough for a cold browser on a small machine; the test's own timeout is the one that matters.
const WAIT = { timeout: 60_000 };

// The Chromium every case opens its page in, with its executable; the browser is a promise while it starts.
let launched = null;

async function chromium(executablePath) {
  if (launched !== null && launched.executablePath === executablePath) {
    const browser = await launched.browser.catch(() => null);
    if (browser?.connected) {
      return browser;
    }
  }
  await close();
  launched = {
    executablePath,
    browser: puppeteer.launch({
      executablePath,
      headless: true,
      // Chromium refuses to run its sandbox as root, which CI containers often are.
      args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
      // DevTools over a pipe rather than a WebSocket: Chromium exits when the pipe closes, so it ends with
      // the runner even when that is killed outright.
      pipe: true,
    }),
  };
  return await launched.browser;
}

export async function close() {
  const closing = launched;
  launched = null;
  const browser = await closing?.browser.catch(() => null);
  await browser?.close();
}

export async function run(options, print) {
  const browser = await chromium(options.chromium);
  const context = await browser.createBrowserContext();
  const requests = [];
  const consoleErrors = [];
  try {
    const page = await context.newPage();
    // A data: URL is its own content (GraphiQL's fonts and icons): kept by its scheme alone, as it is
    // long and goes nowhere.
    page.on("request", (request) => {
      const url = request.url();
      requests.push(url.startsWith("data:") ? "data:" : url);
    });
    page.on("console", (message) => {
      if (message.type() === "error") {
        consoleErrors.push(message.text());
      }
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    // WebSockets are not requests to puppeteer; the DevTools protocol sees them open.
    const devtools = await page.createCDPSession();
    await devtools.send("Network.enable");
    devtools.on("Network.webSocketCreated", (event) => requests.push(event.url));

    await page.goto(options.url, { waitUntil: "load" });
    if (options.page === "follower") {
      await follower(page, print);
    } else {
      await graphiql(page, print);
    }
  } finally {
    await context.close();
  }
  print({ requests, consoleErrors });
}

async function follower(page, print) {
  const text = (selector) => page.$eval(selector, (element) => element.textContent);
  let seen = 0;
  for (;;) {
    await page.waitForFunction(
      (count) =>
        document.querySelectorAll("#events li").length > count ||
        document.getElementById("live").dataset.status !== "running",
      WAIT,
      seen,
    );
    const events = await page.$$eval("#events li", (items) => items.map((item) => item.textContent));
    for (const event of events.slice(seen)) {
      print({ event });
    }
    seen = events.length;
    if ((await page.$eval("#live", (element) => element.dataset.status)) !== "running") {
      break;
    }
  }
  for (const id of ["job", "canceled", "missing"]) {
    await page.waitForFunction((id) => document.getElementById(id).dataset.status !== "running", WAIT, id);
  }
  print({
    shown: {
      job: await text("#job"),
      canceled: await text("#canceled"),
      missing: await text("#missing"),
      live: await text("#live"),
      events: await page.$$eval("#events li", (items) => items.map((item) => item.textContent)),
    },
  });
}

async function graphiql(page, print) {
  // GraphiQL has loaded the schema (the explorer lists the root types) before the query runs.
  await page.waitForSelector(".graphiql-execute-button", WAIT);
  await page.waitForFunction(() => document.body.innerText.includes("videoJobs"), WAIT);
  await page.click(".graphiql-execute-button");
  await page.waitForFunction(
    () => {
      const result = document.querySelector(".result-window");
      return result !== null && result.innerText.includes('"data"');
    },
    WAIT,
  );
  print({ shown: { result: await page.$eval(".result-window", (element) => element.innerText) } });
}
