// Sign-in in a real browser (Debian's Chromium, headless, playwright-core):
// "Sign in" goes to the user pool's hosted UI (the emulator's), back through
// the chat's callback into the room, and the person chats under the name
// from the token, marked as signed in; no token is left in the address or
// anywhere a script can read it but the page's memory; "Sign out" ends it.
//
//   node tests/browser/sign_in.mjs SITE_URL USER PASSWORD SCREENSHOT_DIR
//
// CHROMIUM names the browser (default /usr/bin/chromium). tests/browser.rs
// runs it against a stack `chatctl --local launch` deployed with sign-in on.
import { mkdirSync } from "node:fs";
import { join as joinPath } from "node:path";
import { chromium } from "playwright-core";

const [site, user, password, shots] = process.argv.slice(2);
if (!site || !user || !password || !shots) {
  console.error("usage: node sign_in.mjs SITE_URL USER PASSWORD SCREENSHOT_DIR");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const JOIN_MS = 60000;
const LIVE_MS = 20000;

let step = "start";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const shot = (page, name) => page.screenshot({ path: joinPath(shots, `${name}.png`), fullPage: true });

try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));

  step = "the page offers Sign in";
  await page.goto(site);
  await page.locator("#sign-in").waitFor({ state: "visible", timeout: JOIN_MS });
  if (await page.locator("#join-name").isVisible()) throw new Error("a name field before signing in");

  step = "the hosted UI signs her in";
  await page.locator("#sign-in").click();
  await page.locator("input[name=username]").waitFor({ timeout: JOIN_MS });
  if (page.url().startsWith(site)) throw new Error(`still on the site: ${page.url()}`);
  await page.locator("input[name=username]").fill(user);
  await page.locator("input[name=password]").fill(password);
  await page.locator("button[type=submit]").click();

  step = "back in the room under the token's name";
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: JOIN_MS });
  const status = await page.locator("#status").textContent();
  if (!status.includes(`Connected as ${user}`)) throw new Error(`status: ${status}`);
  if (!page.url().startsWith(site) || /code=|state=|token/.test(page.url())) {
    throw new Error(`the address keeps sign-in data: ${page.url()}`);
  }
  const shown = await page.locator("#signed-in-as").textContent();
  if (!shown.includes(user)) throw new Error(`signed in as: ${shown}`);
  await shot(page, "21-signed-in");

  step = "no token a script can read";
  const readable = await page.evaluate(() =>
    document.cookie + JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  if (readable.includes("eyJ")) throw new Error(`a JWT is readable: ${readable.slice(0, 200)}`);

  step = "her message carries her name and the signed-in mark";
  await page.locator("#text").fill("hello, signed in");
  await page.locator("#text").press("Enter");
  const mine = page.locator("#messages li", { hasText: "hello, signed in" });
  await mine.locator(".verified").waitFor({ timeout: LIVE_MS });
  const name = await mine.locator(".name").textContent();
  if (name !== user) throw new Error(`sent as ${name}`);
  await shot(page, "22-verified-message");

  step = "Sign out ends the session";
  await page.locator("#sign-out button").click();
  await page.waitForURL((url) => url.toString().startsWith(site), { timeout: JOIN_MS });
  await page.locator("#sign-in").waitFor({ state: "visible", timeout: JOIN_MS });
  const session = await page.evaluate(async () => (await fetch("/api/auth/session")).json());
  if (session.signed_in) throw new Error("still signed in after Sign out");
  await shot(page, "23-signed-out");

  console.log("every step passed");
} catch (error) {
  console.error(`step failed: ${step}: ${error.stack || error}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
