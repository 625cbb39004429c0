// Interop client: Node's ws package (npm "ws", from ../node_modules).
//
//   node client_ws.mjs ws://127.0.0.1:PORT/ ws://127.0.0.1:HBPORT/
//
// Over wss:// the CA that signed the echo's certificate is read from the
// file named by INTEROP_CA (the ca option).
//
// The first URL is an echo with default settings; the server-ping case runs
// on a fresh, quiet connection to the second, an echo that pings often
// (-ping-interval 200ms), and checks that the pings arrive and are answered
// (ws does that by itself) by staying connected past the pong timeout.
//
// Prints "PASS <case>" or "FAIL <case>: why" per case and "ALL PASS" at the
// end; exits non-zero on any failure.
import { createRequire } from 'node:module';
import fs from 'node:fs';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

const url = process.argv[2];
const hbURL = process.argv[3];
const TEXT = 'héllo wörld · Привет · 你好世界 · 🎉🚀 · 𝄞'; // 2, 3 and 4-byte UTF-8
const BINARY = Buffer.alloc(1 << 20, 0).map((_, i) => (i * 7 + (i >> 9)) & 0xff); // 1 MiB
const FRAG_TEXT = 'frag🎉ment — 分片 — done';
const CLOSE_REASON = 'bye — ok';
const IDLE_MS = 4000; // past the heartbeat echo's ping interval + pong timeout
const TIMEOUT_MS = 20000;
// wss://: trust the test's CA (certificate and host name are verified).
const tlsOpts = process.env.INTEROP_CA ? { ca: fs.readFileSync(process.env.INTEROP_CA) } : {};

let failed = false;
const log = (s) => console.log(s);

function expect(cond, why) {
  if (!cond) throw new Error(why);
}

function withTimeout(p, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), TIMEOUT_MS); }),
  ]).finally(() => clearTimeout(t));
}

// A queue of incoming messages, so that every case awaits the next one.
const inbox = [];
const waiters = [];
async function nextMessage() {
  const m = inbox.length ? inbox.shift() : await withTimeout(new Promise((resolve) => waiters.push(resolve)), 'a message');
  if (!m) throw new Error(`connection closed: code ${closeInfo.code} reason ${JSON.stringify(closeInfo.reason)}`);
  return m;
}

const ws = new WebSocket(url, { maxPayload: 2 << 20, perMessageDeflate: false, ...tlsOpts });
const pongs = [];
ws.on('message', (data, isBinary) => {
  const m = { data, isBinary };
  if (waiters.length) waiters.shift()(m); else inbox.push(m);
});
ws.on('pong', (data) => { pongs.push(data.toString()); });
let closeInfo = null;
const closed = new Promise((resolve) => ws.on('close', (code, reason) => {
  closeInfo = { code, reason: reason.toString() };
  resolve(closeInfo);
  waiters.splice(0).forEach((w) => w(null)); // wake a case waiting for a message
}));
ws.on('error', (err) => { log(`   (error event: ${err.message})`); });

const cases = [
  ['utf8-text', async () => {
    ws.send(TEXT);
    const m = await nextMessage();
    expect(!m.isBinary, 'got a binary message');
    expect(m.data.toString() === TEXT, `got ${JSON.stringify(m.data.toString())}`);
  }],
  ['binary-1MiB', async () => {
    ws.send(BINARY);
    const m = await nextMessage();
    expect(m.isBinary, 'got a text message');
    expect(Buffer.compare(m.data, BINARY) === 0, `got ${m.data.length} bytes, content differs`);
  }],
  ['fragmented', async () => {
    // A text message in three frames with a 4-byte character split across
    // the first two and a ping between the fragments (RFC 6455 5.4, 5.5).
    const b = Buffer.from(FRAG_TEXT);
    ws.send(b.subarray(0, 6), { binary: false, fin: false });
    ws.ping('mid-fragment');
    ws.send(b.subarray(6, 14), { binary: false, fin: false });
    ws.send(b.subarray(14), { binary: false, fin: true });
    const m = await nextMessage();
    expect(!m.isBinary, 'got a binary message');
    expect(m.data.toString() === FRAG_TEXT, `got ${JSON.stringify(m.data.toString())}`);
    expect(pongs.includes('mid-fragment'), 'no pong for the ping sent between fragments');
  }],
  ['ping-pong', async () => {
    const got = new Promise((resolve) => ws.once('pong', (data) => resolve(data.toString())));
    ws.ping('interop-ping');
    const data = await withTimeout(got, 'the pong');
    expect(data === 'interop-ping', `pong payload ${JSON.stringify(data)}`);
  }],
  ['close-1000', async () => {
    ws.close(1000, CLOSE_REASON);
    const { code, reason } = await withTimeout(closed, 'the close');
    log(`   (server answered close with code ${code}, reason ${JSON.stringify(reason)})`);
    expect(code === 1000, `close code ${code}, want 1000`);
    expect(reason === '' || reason === CLOSE_REASON, `close reason ${JSON.stringify(reason)}`);
  }],
];

// server-ping, on its own quiet connection to the heartbeat echo.
async function serverPing() {
  const hb = new WebSocket(hbURL, { perMessageDeflate: false, ...tlsOpts });
  let pings = 0;
  let closed = null;
  const closedP = new Promise((resolve) => hb.on('close', (code) => { closed = code; resolve(code); }));
  hb.on('ping', () => { pings++; }); // ws has already answered it
  hb.on('error', (err) => { log(`   (error event: ${err.message})`); });
  try {
    await withTimeout(new Promise((resolve, reject) => { hb.once('open', resolve); hb.once('error', reject); }), 'the handshake');
    await new Promise((r) => setTimeout(r, IDLE_MS));
    expect(closed === null, `closed after ${pings} pings with code ${closed}`);
    expect(pings > 0, `no ping from the server in ${IDLE_MS} ms`);
    const got = new Promise((resolve) => hb.once('message', (data) => resolve(data.toString())));
    hb.send('after-idle');
    const data = await withTimeout(got, 'the echo');
    expect(data === 'after-idle', `got ${JSON.stringify(data)}`);
    log(`   (${pings} server pings answered in ${IDLE_MS} ms)`);
    hb.close(1000);
    await withTimeout(closedP, 'the close');
  } finally {
    hb.terminate();
  }
}
cases.push(['server-ping', serverPing]);

try {
  await withTimeout(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 'the handshake');
  for (const [name, fn] of cases) {
    try {
      await fn();
      log(`PASS ${name}`);
    } catch (err) {
      failed = true;
      log(`FAIL ${name}: ${err.message}`);
      break;
    }
  }
} catch (err) {
  failed = true;
  log(`FAIL connect: ${err.message}`);
}
ws.terminate();
if (failed) process.exit(1);
log('ALL PASS');
