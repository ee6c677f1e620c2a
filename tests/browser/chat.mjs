// The chat as people use it, in Debian's Chromium driven headless by
// playwright-core: two people chat live (send, edit, delete), a reload shows
// the history in order, a third person with JavaScript off reads the room
// page and posts through its form, reaching the two live clients, an idle
// page keeps its socket with a ping every 5 minutes, both see who is here, the author's Edit and
// Delete go when the edit window closes (on the server's clock, even on a
// page whose clock is an hour fast), a handshake nobody answers is
// given up and retried (Playwright's clock), and "Notify me" stores a push
// subscription, its service worker shows a pushed message, and a message
// sent while the subscriber is away reaches her push service.
//
//   node tests/browser/chat.mjs SITE_URL SCREENSHOT_DIR
//
// CHROMIUM names the browser (default /usr/bin/chromium). Exits non-zero with
// the failed step on stderr. tests/browser.rs runs it against a stack that
// `chatctl --local launch` deployed.
import { createECDH, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { join as joinPath } from "node:path";
import { chromium } from "playwright-core";

const [site, shots] = process.argv.slice(2);
if (!site || !shots) {
  console.error("usage: node chat.mjs SITE_URL SCREENSHOT_DIR");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const ROOM = "general";
const LIVE_MS = 20000; // the stream fan-out takes about a second on the emulator
// Joining starts the connect function cold on the emulator; with a CI
// machine's other tests and builds beside it that took over 20 s once.
const JOIN_MS = 60000;
const SCRIPT = "<script>window.pwned = 1</script> hi";

let step = "start";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Chromium's sandbox needs user namespaces, which CI containers often lack.
  args: ["--no-sandbox"],
});

async function shot(page, name) {
  await page.screenshot({ path: joinPath(shots, `${name}.png`), fullPage: true });
}

async function join(context, name) {
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[${name}] page error: ${error.message}`));
  await page.goto(site);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Room").fill(ROOM);
  await page.getByRole("button", { name: "Join" }).click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: JOIN_MS });
  return page;
}

/// Joins on a page whose clock Playwright controls. On the fake clock a
/// first handshake that failed (a slow cold start on a loaded machine)
/// would wait for its back-off forever: the page's own reconnect is let
/// run, as real time would, until it is connected. A join gets the same
/// time as the others (JOIN_MS): in a fresh-clone CI run a cold handshake
/// once took longer than LIVE_MS, while still "Connecting".
async function joinOnClock(page, name) {
  await page.goto(site);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Room").fill(ROOM);
  await page.getByRole("button", { name: "Join" }).click();
  const joinBy = Date.now() + JOIN_MS;
  while ((await page.locator("#status").getAttribute("data-state")) !== "connected") {
    if (Date.now() > joinBy) {
      throw new Error(`never connected: ${await page.locator("#status").textContent()}`);
    }
    if ((await page.locator("#status").getAttribute("data-state")) === "reconnecting") {
      await page.clock.runFor(30 * 1000); // the page's longest back-off
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/// The texts of the messages on a page, oldest first.
const texts = (page) => page.locator("#messages li .text").allTextContents();

async function sendFrom(page, text) {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.getByLabel("Message", { exact: true }).press("Enter");
}

async function seen(page, text) {
  await page.locator("#messages li .text", { hasText: text }).first().waitFor({ timeout: LIVE_MS });
}

try {
  step = "two people join the same room";
  const alice = await join(await browser.newContext(), "alice");
  const bob = await join(await browser.newContext(), "bob");
  await shot(alice, "01-joined");

  step = "each sees who is here: the first in the list live, the second from its history";
  for (const page of [alice, bob]) {
    await page.locator("#presence-count", { hasText: "2 people here" }).waitFor({ timeout: LIVE_MS });
    const people = await page.locator("#people li").allTextContents();
    if (JSON.stringify(people) !== JSON.stringify(["alice", "bob"])) {
      throw new Error(`people here: ${JSON.stringify(people)}`);
    }
  }

  step = "a message from one appears in the other, as text";
  await sendFrom(alice, SCRIPT);
  await seen(bob, "window.pwned");
  const shown = await bob.locator("#messages li .text").last().textContent();
  if (shown !== SCRIPT) throw new Error(`bob sees ${JSON.stringify(shown)}`);
  if (await bob.evaluate(() => window.pwned) !== undefined) throw new Error("a message ran as script");
  await seen(alice, "window.pwned");
  await shot(bob, "02-received");

  step = "an edit propagates";
  await alice.locator("#messages li.mine", { hasText: "window.pwned" }).getByRole("button", { name: "Edit this message" }).click();
  await sendFrom(alice, "hello, edited");
  await seen(bob, "hello, edited");
  await bob.locator("#messages li", { hasText: "hello, edited" }).locator(".edited").waitFor({ timeout: LIVE_MS });
  await shot(bob, "03-edited");

  step = "a delete propagates";
  await sendFrom(bob, "to be deleted");
  await seen(alice, "to be deleted");
  await sendFrom(bob, "stays");
  await seen(alice, "stays");
  await bob.locator("#messages li.mine", { hasText: "to be deleted" }).getByRole("button", { name: "Delete this message" }).click();
  await alice.locator("#messages li .text", { hasText: "to be deleted" }).waitFor({ state: "detached", timeout: LIVE_MS });
  await shot(alice, "04-deleted");

  step = "a reload shows the history in order";
  await bob.reload();
  await bob.getByLabel("Your name").fill("bob");
  await bob.getByRole("button", { name: "Join" }).click();
  await seen(bob, "stays");
  const history = await texts(bob);
  const expected = ["hello, edited", "stays"];
  if (JSON.stringify(history) !== JSON.stringify(expected)) {
    throw new Error(`history after reload: ${JSON.stringify(history)}, expected ${JSON.stringify(expected)}`);
  }
  await shot(bob, "05-reloaded");

  step = "without JavaScript the room page reads and posts";
  const carolContext = await browser.newContext({ javaScriptEnabled: false });
  const carol = await carolContext.newPage();
  // The fan-out rewrites the page after each change; wait for the latest.
  const deadline = Date.now() + LIVE_MS;
  for (;;) {
    await carol.goto(`${site}rooms/${ROOM}.html`);
    const body = (await carol.locator("body").textContent()) || "";
    if (body.includes("stays") && !body.includes("to be deleted")) break;
    if (Date.now() > deadline) throw new Error(`the room page never caught up: ${body}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await shot(carol, "06-no-javascript");
  await carol.getByLabel("Name").fill("carol");
  await carol.getByLabel("Message").fill("from a form");
  await Promise.all([carol.waitForURL(`**/rooms/${ROOM}.html`), carol.getByRole("button", { name: "Send" }).click()]);

  step = "the form post reaches both live clients";
  await seen(alice, "from a form");
  await seen(bob, "from a form");
  await shot(alice, "07-form-post-live");

  step = "the room page shows the script message as text";
  await alice.locator("#messages li.mine", { hasText: "hello, edited" }).getByRole("button", { name: "Edit this message" }).click();
  await sendFrom(alice, SCRIPT);
  const until = Date.now() + LIVE_MS;
  for (;;) {
    await carol.goto(`${site}rooms/${ROOM}.html`);
    if (((await carol.locator("body").textContent()) || "").includes(SCRIPT)) break;
    if (Date.now() > until) throw new Error("the room page never showed the script text");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if ((await carol.locator("script").count()) !== 0) throw new Error("a <script> element reached the room page");
  await shot(carol, "08-script-as-text");

  step = "an idle page pings every 5 minutes and gets a pong (API Gateway closes idle sockets at 10)";
  // The page's clock is Playwright's: five minutes pass at once, not in real time.
  const idleContext = await browser.newContext();
  const dave = await idleContext.newPage();
  await dave.clock.install();
  const sent = [];
  const received = [];
  dave.on("websocket", (socket) => {
    socket.on("framesent", (frame) => sent.push(String(frame.payload)));
    socket.on("framereceived", (frame) => received.push(String(frame.payload)));
  });
  await joinOnClock(dave, "dave");
  const pings = () => sent.filter((payload) => JSON.parse(payload).action === "ping").length;
  await dave.clock.runFor(4 * 60 * 1000);
  if (pings() !== 0) throw new Error(`a ping before 5 minutes: ${JSON.stringify(sent)}`);
  await dave.clock.runFor(60 * 1000 + 1000);
  if (pings() !== 1) throw new Error(`no ping after 5 minutes: ${JSON.stringify(sent)}`);
  const pongBy = Date.now() + LIVE_MS;
  while (!received.some((payload) => JSON.parse(payload).type === "pong")) {
    if (Date.now() > pongBy) throw new Error(`no pong: ${JSON.stringify(received)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await dave.clock.runFor(5 * 60 * 1000);
  if (pings() !== 2) throw new Error(`no second ping after 10 minutes: ${JSON.stringify(sent)}`);
  await dave.locator('#status[data-state="connected"]').waitFor({ timeout: LIVE_MS });
  await shot(dave, "09-kept-alive");

  step = "the author's Edit and Delete go when the edit window (config.json) closes";
  // The page's clock runs ahead of the server's here (the pings above):
  // the window is counted from the message's own time, as the server does.
  const windowSeconds = await dave.evaluate(async () => (await (await fetch("/config.json")).json()).editWindowSeconds);
  if (windowSeconds !== 15 * 60) throw new Error(`config.json's edit window: ${windowSeconds}`);
  await sendFrom(dave, "dave's own words");
  const daves = dave.locator("#messages li.mine", { hasText: "dave's own words" });
  await daves.getByRole("button", { name: "Edit this message" }).waitFor({ timeout: LIVE_MS });
  await dave.clock.runFor(windowSeconds * 1000 + 1000);
  await daves.getByRole("button", { name: "Edit this message" }).waitFor({ state: "detached", timeout: LIVE_MS });
  if ((await daves.getByRole("button").count()) !== 0) throw new Error("Delete stayed after the edit window");

  step = "a page whose clock is an hour fast keeps Edit for the server's edit window";
  // The history frame's `now` (the server's clock) sets the page's offset:
  // on its own clock the message would be an hour old, past the window.
  const fastContext = await browser.newContext();
  const frank = await fastContext.newPage();
  frank.on("pageerror", (error) => console.error(`[frank] page error: ${error.message}`));
  await frank.clock.install({ time: Date.now() + 60 * 60 * 1000 });
  await joinOnClock(frank, "frank");
  await sendFrom(frank, "frank's fast clock");
  const franks = frank.locator("#messages li.mine", { hasText: "frank's fast clock" });
  await franks.getByRole("button", { name: "Edit this message" }).waitFor({ timeout: LIVE_MS });
  await frank.clock.runFor(windowSeconds * 1000 - 60 * 1000);
  if ((await franks.getByRole("button", { name: "Edit this message" }).count()) !== 1) {
    throw new Error("Edit went before the server's edit window closed");
  }
  await frank.clock.runFor(61 * 1000);
  await franks.getByRole("button", { name: "Edit this message" }).waitFor({ state: "detached", timeout: LIVE_MS });
  await fastContext.close();

  step = "a handshake that gets no answer is given up and retried";
  // A TCP server that accepts the connection and never answers the
  // upgrade: a network or proxy that swallows the handshake.
  const silent = [];
  const hung = createServer((socket) => silent.push(socket));
  hung.unref(); // a failed step must not keep node running
  await new Promise((resolve) => hung.listen(0, "127.0.0.1", resolve));
  const ginaContext = await browser.newContext();
  const gina = await ginaContext.newPage();
  gina.on("pageerror", (error) => console.error(`[gina] page error: ${error.message}`));
  await gina.clock.install();
  // config.json also arrives late, after Join is clicked: the page waits
  // for it rather than submitting its plain form.
  await gina.route("**/config.json", async (route) => {
    const config = await (await route.fetch()).json();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.fulfill({ json: { ...config, websocketUrl: `ws://127.0.0.1:${hung.address().port}/` } });
  });
  await gina.goto(site);
  await gina.getByLabel("Your name").fill("gina");
  await gina.getByLabel("Room").fill(ROOM);
  await gina.getByRole("button", { name: "Join" }).click();
  const ginaSays = async () => `${await gina.locator("#status").getAttribute("data-state")}: ${await gina.locator("#status").textContent()}`;
  const reachedBy = Date.now() + LIVE_MS;
  while (silent.length === 0) {
    if (Date.now() > reachedBy) throw new Error(`the page never reached the silent server (${await ginaSays()})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if ((await gina.locator("#status").getAttribute("data-state")) !== "connecting") {
    throw new Error(`not connecting: ${await ginaSays()}`);
  }
  // Every status the page shows from here on.
  await gina.evaluate(() => {
    const status = document.getElementById("status");
    window.statuses = [];
    new MutationObserver(() => window.statuses.push(status.textContent)).observe(status, {
      childList: true, characterData: true, subtree: true,
    });
  });
  await gina.clock.runFor(39 * 1000);
  if (silent.length !== 1 || (await gina.evaluate(() => window.statuses.length)) !== 0) {
    throw new Error(`gave up before 40 s: ${await ginaSays()}`);
  }
  await gina.clock.runFor(2 * 1000);
  // Given up, said so, and tried again on its own (its first back-off is
  // under a second).
  for (let tick = 0; silent.length < 2; tick += 1) {
    // At most 3 more seconds on the page's clock; real time for the events.
    if (tick === 30) throw new Error(`no second attempt within 44 s: ${await ginaSays()}`);
    await gina.clock.runFor(100);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const statuses = await gina.evaluate(() => window.statuses);
  if (!statuses.some((text) => text.startsWith("The chat did not answer."))) {
    throw new Error(`the page said ${JSON.stringify(statuses)}`);
  }
  await shot(gina, "09b-handshake-timed-out");
  await ginaContext.close();
  silent.forEach((socket) => socket.destroy());
  hung.close();

  step = "Notify me stores a push subscription made with the stack's VAPID key";
  // Headless Chromium reaches no real push service: the Push API's
  // subscribe gives a subscription at a push service stand-in on
  // 127.0.0.1 (under --local the chat may push there), with a real P-256
  // key; everything else (the permission, the service worker, the HTTP
  // API, the notify function) is the real thing.
  const pushed = [];
  const pushService = createHttpServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      pushed.push({ url: request.url, headers: request.headers, body: Buffer.concat(chunks) });
      response.writeHead(201).end();
    });
  });
  pushService.unref();
  await new Promise((resolve) => pushService.listen(0, "127.0.0.1", resolve));
  const browserKey = createECDH("prime256v1");
  browserKey.generateKeys();
  const fakePush = {
    endpoint: `http://127.0.0.1:${pushService.address().port}/push/hana`,
    p256dh: browserKey.getPublicKey().toString("base64url"),
    auth: randomBytes(16).toString("base64url"),
  };
  const hanaContext = await browser.newContext({ permissions: ["notifications"] });
  await hanaContext.addInitScript((fake) => {
    let current = null;
    PushManager.prototype.subscribe = async function (options) {
      window.subscribedWith = {
        userVisibleOnly: options.userVisibleOnly,
        key: btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey))),
      };
      current = {
        endpoint: fake.endpoint,
        options: { applicationServerKey: options.applicationServerKey },
        toJSON: () => ({ endpoint: fake.endpoint, expirationTime: null, keys: { p256dh: fake.p256dh, auth: fake.auth } }),
        unsubscribe: async () => { current = null; return true; },
      };
      return current;
    };
    PushManager.prototype.getSubscription = async function () { return current; };
  }, fakePush);
  const hana = await join(hanaContext, "hana");
  // The first history page (with her token) has arrived when she is listed.
  await hana.locator("#people li", { hasText: "hana" }).waitFor({ state: "attached", timeout: LIVE_MS });
  const notifyButton = hana.getByRole("button", { name: "Notify me" });
  hana.on("console", (message) => console.error(`[hana] ${message.type()}: ${message.text()}`));
  await notifyButton.click();
  await hana.getByRole("button", { name: "Stop notifications" }).waitFor({ timeout: LIVE_MS }).catch(async (error) => {
    throw new Error(`${error.message}; the page says: ${await hana.locator("#notice").textContent()}`);
  });
  const vapid = await hana.evaluate(async () => (await (await fetch("/config.json")).json()).vapidPublicKey);
  const subscribedWith = await hana.evaluate(() => window.subscribedWith);
  if (!subscribedWith.userVisibleOnly || subscribedWith.key !== Buffer.from(vapid, "base64url").toString("base64")) {
    throw new Error(`subscribed with ${JSON.stringify(subscribedWith)}, config's key ${vapid}`);
  }
  await shot(hana, "11-notifications-on");

  step = "the service worker shows a pushed message as a notification with the room and the text";
  const cdp = await hanaContext.newCDPSession(hana);
  const registrations = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (event) => registrations.push(...event.registrations));
  await cdp.send("ServiceWorker.enable");
  const registeredBy = Date.now() + LIVE_MS;
  while (!registrations.some((r) => r.scopeURL === site && !r.isDeleted)) {
    if (Date.now() > registeredBy) throw new Error(`no service worker: ${JSON.stringify(registrations)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const registration = registrations.find((r) => r.scopeURL === site && !r.isDeleted);
  const long = "x".repeat(400);
  const delivery = {
    origin: new URL(site).origin,
    registrationId: registration.registrationId,
    data: JSON.stringify({ type: "message", room: ROOM, id: "01JTEST0000000000000000000", name: "alice", text: `see you at noon ${long}` }),
  };
  // DevTools' push delivery is dropped now and then while the worker
  // starts: delivered again every 2 s until shown (the tag, one per
  // message id, keeps it one notification).
  await cdp.send("ServiceWorker.startWorker", { scopeURL: site });
  let notifications = [];
  const shownBy = Date.now() + LIVE_MS;
  for (let attempt = 0; notifications.length === 0; attempt += 1) {
    if (Date.now() > shownBy) throw new Error(`no notification shown (${JSON.stringify(registrations)})`);
    if (attempt % 20 === 0) await cdp.send("ServiceWorker.deliverPushMessage", delivery);
    await new Promise((resolve) => setTimeout(resolve, 100));
    notifications = await hana.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications())
      .map((n) => ({ title: n.title, body: n.body, tag: n.tag })));
  }
  if (notifications.length !== 1) throw new Error(`notifications: ${JSON.stringify(notifications)}`);
  const [notification] = notifications;
  if (notification.title !== `#${ROOM} · alice` || !notification.body.startsWith("see you at noon")
      || Array.from(notification.body).length !== 161 || notification.tag !== "message-01JTEST0000000000000000000") {
    throw new Error(`the notification: ${JSON.stringify(notification)}`);
  }

  step = "Stop notifications removes the subscription, Notify me stores it again";
  await hana.getByRole("button", { name: "Stop notifications" }).click();
  await notifyButton.waitFor({ timeout: LIVE_MS });
  await notifyButton.click();
  await hana.getByRole("button", { name: "Stop notifications" }).waitFor({ timeout: LIVE_MS });

  step = "a message sent while the subscriber is away is pushed to her push service";
  await hanaContext.close();
  // Gone from the room: no longer skipped as someone who sees it live.
  await alice.locator("#people li", { hasText: "hana" }).waitFor({ state: "detached", timeout: LIVE_MS });
  await sendFrom(alice, "hana, lunch?");
  const pushedBy = Date.now() + LIVE_MS;
  while (pushed.length === 0) {
    if (Date.now() > pushedBy) throw new Error("nothing was pushed");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const [push] = pushed;
  if (push.url !== "/push/hana" || push.headers["content-encoding"] !== "aes128gcm"
      || !String(push.headers.authorization).startsWith("vapid t=")
      || !String(push.headers.authorization).endsWith(`k=${vapid}`)
      || push.body.length === 0 || push.body.includes("lunch")) {
    throw new Error(`the push: ${push.url} ${JSON.stringify(push.headers)}`);
  }
  pushService.close();

  step = "API Gateway's throttling answer (no type) is shown, not dropped";
  // Throttling cannot be provoked on the emulator: the answer AWS sends is
  // injected into a live socket with Playwright's WebSocket routing.
  const erinContext = await browser.newContext();
  const erin = await erinContext.newPage();
  let erinSocket = null;
  await erin.routeWebSocket(/.*/, (socket) => {
    erinSocket = socket;
    socket.connectToServer();
  });
  await erin.goto(site);
  await erin.getByLabel("Your name").fill("erin");
  await erin.getByLabel("Room").fill(ROOM);
  await erin.getByRole("button", { name: "Join" }).click();
  await erin.locator('#status[data-state="connected"]').waitFor({ timeout: LIVE_MS });
  erinSocket.send(JSON.stringify({ message: "Too Many Requests", connectionId: "c", requestId: "r" }));
  await erin.locator("#notice", { hasText: "Too Many Requests" }).waitFor({ timeout: LIVE_MS });
  await shot(erin, "10-throttled");
  console.log("browser: every step passed");
} catch (error) {
  console.error(`browser: failed at "${step}": ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
