// Drives the chat page through a server crash in headless Chromium: alice's
// page is on instance A; the Go test kills A, publishes on instance B while
// A is down, restarts A, and the page must reconnect by itself (backoff with
// jitter) and catch up: every message once, in order, no gap.
//
//   node recover.mjs URL_A ROOM OUTDIR      (steps on stdin/stdout)
//
// Protocol with the test: the script prints READY once alice is connected,
// waits for the line WAIT <text> to print SEEN <text> when the page shows
// it, and for CHECK <n> to verify the page holds n consecutive room
// messages, print their texts as JSON and exit.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [urlA, room, outDir] = process.argv.slice(2);
if (!urlA || !room || !outDir) {
  console.error("usage: node recover.mjs URL_A ROOM OUTDIR");
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), "broadcast-chromium-"));
const deadline = Date.now() + 80_000;
const left = () => Math.max(1, deadline - Date.now());
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 720, height: 640 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  timeout: 30_000,
}).catch((err) => { rmSync(profile, { recursive: true, force: true }); throw err; });

let failed = false;
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => { console.error("page error:", err.message); failed = true; });
  await page.goto(urlA, { timeout: left() });
  await page.fill("#name", "alice");
  await page.fill("#room", room);
  await page.click("#join");
  await page.waitForSelector("#status.connected", { timeout: left() });
  console.log("READY");
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, ...rest] = line.split(" ");
    const arg = rest.join(" ");
    if (cmd === "WAIT") {
      await page.waitForFunction(
        (t) => [...document.querySelectorAll("#log li")].some((li) => li.textContent.includes(t)),
        arg, { timeout: left(), polling: 50 });
      console.log("SEEN " + arg);
    } else if (cmd === "PEOPLE") {
      await page.waitForFunction((t) => document.getElementById("people").textContent === t,
        arg, { timeout: left(), polling: 50 });
      console.log("PEOPLE " + arg);
    } else if (cmd === "CHECK") {
      const items = await page.$$eval("#log li[data-offset]", (lis) =>
        lis.map((li) => ({ offset: Number(li.dataset.offset), text: li.textContent })));
      const texts = items.map((i) => i.text);
      console.log("LOG " + JSON.stringify(texts));
      if (items.length !== Number(arg)) throw new Error(`page holds ${items.length} room messages, want ${arg}`);
      for (let i = 1; i < items.length; i++) {
        if (items[i].offset !== items[i - 1].offset + 1) throw new Error(`offsets ${items[i - 1].offset} then ${items[i].offset}`);
      }
      const notes = await page.$$eval("#log li.note", (lis) => lis.map((li) => li.textContent));
      console.log("NOTES " + JSON.stringify(notes));
      await page.screenshot({ path: join(outDir, "recovered.png") });
      break;
    }
  }
} catch (err) {
  failed = true;
  console.error("FAIL:", err.message);
  for (const [i, page] of browser.pages().entries()) {
    await page.screenshot({ path: join(outDir, "failure-recover-" + i + ".png") }).catch(() => {});
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
