// Drives the broadcast example's page in headless Chromium: alice opens the
// page on instance A, bob on instance B, both join one room; alice's message
// must show on bob's page (through Redis) and on her own (the sender is
// included), then bob answers. Screenshots of both pages go to OUTDIR.
//
//   node chat.mjs URL_A URL_B OUTDIR
//
// It uses Debian's Chromium (/usr/bin/chromium or $CHROMIUM); it never
// downloads a browser. Every wait is bounded; the exit code says whether it
// passed.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [urlA, urlB, outDir] = process.argv.slice(2);
if (!urlA || !urlB || !outDir) {
  console.error("usage: node chat.mjs URL_A URL_B OUTDIR");
  process.exit(2);
}
const room = "lobby-" + Math.random().toString(36).slice(2, 8);
const profile = mkdtempSync(join(tmpdir(), "broadcast-chromium-"));
const deadline = Date.now() + 45_000;
const left = () => Math.max(1, deadline - Date.now());

const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 720, height: 640 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    // https:// with a self-signed certificate: accepted by its SPKI pin(s).
    ...(process.env.SPKI_PINS ? ["--ignore-certificate-errors-spki-list=" + process.env.SPKI_PINS] : []),
  ],
  timeout: 30_000,
}).catch((err) => {
  rmSync(profile, { recursive: true, force: true });
  throw err;
});

let failed = false;
try {
  const join_ = async (url, name) => {
    const page = await browser.newPage();
    page.on("pageerror", (err) => { console.error(name + " page error:", err.message); failed = true; });
    await page.goto(url, { timeout: left() });
    await page.fill("#name", name);
    await page.fill("#room", room);
    await page.click("#join");
    await page.waitForSelector("#status.connected", { timeout: left() });
    return page;
  };
  const alice = await join_(urlA, "alice");
  const bob = await join_(urlB, "bob");
  // With EXPECT_DEFLATE=1 the servers run with -compression on: both pages'
  // WebSockets must have negotiated permessage-deflate.
  if (process.env.EXPECT_DEFLATE === "1") {
    for (const [who, page] of [["alice", alice], ["bob", bob]]) {
      const ext = await page.evaluate(() => ws.extensions);
      console.log(who + " extensions: " + ext);
      if (!ext.includes("permessage-deflate")) throw new Error(who + " did not negotiate permessage-deflate: " + JSON.stringify(ext));
    }
  }
  const say = async (page, text) => {
    await page.fill("#text", text);
    await page.click("#send");
  };
  const sees = (page, text) =>
    page.waitForFunction(
      (t) => [...document.querySelectorAll("#log li")].some((li) => li.textContent.includes(t)),
      text, { timeout: 1_000, polling: 50 },
    ).then(() => true, () => false);

  // Bob's instance may still be subscribing to the room in Redis: messages
  // before that are lost (at most once), so alice says hello until bob sees
  // one, a bounded number of times.
  let seen = false;
  for (let i = 1; i <= 20 && !seen && Date.now() < deadline; i++) {
    await say(alice, "hello from alice #" + i);
    seen = await sees(bob, "hello from alice #");
  }
  if (!seen) throw new Error("bob never saw alice's message across instances");
  if (!(await sees(alice, "hello from alice #1"))) throw new Error("alice does not see her own message");
  // The server stamps the name chosen at the upgrade on each message.
  if (!(await sees(bob, "alice:hello from alice #"))) throw new Error("bob does not see alice's name on her message");

  await say(bob, "hi alice, bob here");
  if (!(await sees(alice, "hi alice, bob here"))) throw new Error("alice did not get bob's answer");
  if (!(await sees(bob, "hi alice, bob here"))) throw new Error("bob does not see his own message");

  // A message long enough to be compressed (past the 128-byte threshold),
  // both ways.
  const long = "long message " + "la ".repeat(100) + "end";
  await say(alice, long);
  if (!(await sees(bob, long))) throw new Error("bob did not get alice's long message");
  await say(bob, long + " from bob");
  if (!(await sees(alice, long + " from bob"))) throw new Error("alice did not get bob's long message");

  await alice.screenshot({ path: join(outDir, "alice.png") });
  await bob.screenshot({ path: join(outDir, "bob.png") });
  const log = await bob.$$eval("#log li", (lis) => lis.map((li) => li.textContent));
  console.log(JSON.stringify({ room, bob: log }));
} catch (err) {
  failed = true;
  console.error("FAIL:", err.message);
  for (const [i, page] of browser.pages().entries()) {
    await page.screenshot({ path: join(outDir, "failure-" + i + ".png") }).catch(() => {});
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
