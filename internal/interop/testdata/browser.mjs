// Interop client: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core; the page's own `new WebSocket(...)` runs web_cases.js.
//
//   node browser.mjs ws://127.0.0.1:PORT/ ws://127.0.0.1:HBPORT/ [ARTIFACT_DIR]
//
// The first URL is an echo with default settings, the second one that pings
// often (see web_cases.js).
//
// The page must be on the echo server's own origin: the echo example's
// default origin policy accepts a browser only from there, and Chromium
// lets a page reach loopback only when the page itself came from a local
// address. So the browser loads the one page the echo example serves,
// http://127.0.0.1:PORT/healthz, and page.setContent then replaces its
// document with page.html (web_cases.js inlined), keeping its origin. The
// same page loaded from http://localhost:PORT/ is another origin, and its
// WebSocket must be refused. The server-ping case runs on a page from the
// heartbeat echo's own /healthz.
//
// Over wss:// the pages come over https:// from the same ports, and
// Chromium accepts the echo's certificate by the SHA-256 SPKI pin in
// INTEROP_SPKI (--ignore-certificate-errors-spki-list).
//
// Screenshots of both pages go to ARTIFACT_DIR (default ../artifacts).
// Prints "PASS <case>" or "FAIL <case>: why" per case and "ALL PASS" at the
// end; exits non-zero on any failure. Never downloads a browser: CHROMIUM
// (default /usr/bin/chromium) is the one used.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wsURL = new URL(process.argv[2]);
const hbURL = new URL(process.argv[3]);
const artifacts = process.argv[4] || path.join(here, '..', 'artifacts');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const http = wsURL.protocol === 'wss:' ? 'https' : 'http';
const pinArgs = process.env.INTEROP_SPKI ? [`--ignore-certificate-errors-spki-list=${process.env.INTEROP_SPKI}`] : [];

const casesJS = fs.readFileSync(path.join(here, 'web_cases.js'), 'utf8');
function pageHTML(params) {
  const inline = `<script>window.interopParams = ${JSON.stringify(params)};</script>\n` +
    `<script>\n${casesJS}\n</script>`;
  return fs.readFileSync(path.join(here, 'page.html'), 'utf8')
    .replace('<script src="web_cases.js"></script>', () => inline);
}

const watchdog = setTimeout(() => { console.log('FAIL browser: timed out (110s)'); process.exit(1); }, 110000);
fs.mkdirSync(artifacts, { recursive: true });
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-chromium-'));
let failed = [];
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    timeout: 30000,
    viewport: { width: 1000, height: 420 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...pinArgs],
  });

  async function runPage(pageURL, params, shot) {
    const page = await context.newPage();
    page.on('pageerror', (err) => console.log(`   (page error: ${err.message})`));
    const resp = await page.goto(pageURL);
    if (!resp || resp.status() !== 200) throw new Error(`${pageURL}: HTTP ${resp && resp.status()}`);
    await page.setContent(pageHTML(params));
    await page.waitForFunction(() => window.__interop && window.__interop.done, null, { timeout: 60000 });
    const r = await page.evaluate(() => ({ ...window.__interop, origin: location.origin }));
    console.log(`   (page origin ${r.origin})`);
    for (const line of r.lines) console.log(line);
    await page.screenshot({ path: path.join(artifacts, shot), fullPage: true });
    await page.close();
    return r;
  }

  const first = context.pages()[0] || await context.newPage();
  console.log(`   (${await first.evaluate(() => navigator.userAgent)})`);

  const runs = [
    [`${http}://127.0.0.1:${wsURL.port}/healthz`, { ws: wsURL.href }, 'browser.png'],
    // The heartbeat echo listens on another port, another origin: its page
    // comes from there.
    [`${http}://127.0.0.1:${hbURL.port}/healthz`, { ws: hbURL.href, mode: 'heartbeat' }, 'browser-heartbeat.png'],
    [`${http}://localhost:${wsURL.port}/healthz`, { ws: wsURL.href, mode: 'refused' }, 'browser-refused.png'],
  ];
  for (const [pageURL, params, shot] of runs) failed.push(...(await runPage(pageURL, params, shot)).failed);
  console.log(`   (screenshots in ${artifacts}: ${runs.map((r) => r[2]).join(', ')})`);
} catch (err) {
  failed.push('browser');
  console.log(`FAIL browser: ${err.message}`);
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}
if (failed.length) process.exit(1);
console.log('ALL PASS');
