// permessage-deflate interop client: Node ws (internal/interop/node_modules),
// for deflate_test.go.
//
//   node deflate_ws.mjs URL WINDOW_BITS [client-nct|server-bits|-] [SIZE...]
//
// Offers permessage-deflate with client_max_window_bits=WINDOW_BITS (and
// client_no_context_takeover + server_no_context_takeover with
// "client-nct"), compressing every message (threshold 0), then, for every
// size, sends a text message (UTF-8 JSON with multi-byte characters), a
// compressible binary one and (up to 16 KiB) a random binary one, each
// whole and then fragmented (send(data, {fin: false}): 4 fragments,
// compressed by ws with RSV1 on the first only, a ping() between each two
// fragments, text cut inside code points); above 64 KiB a text message
// fragmented and a binary one whole. Checks every echo byte for byte and
// every pong.
//
// Prints "EXT <negotiated Sec-WebSocket-Extensions>", "PASS <case>" per
// message and "ALL PASS <count>" at the end; "FAIL <case>: why" and a
// non-zero exit on the first failure.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

const [url, bitsArg, nctArg, ...sizeArgs] = process.argv.slice(2);
const bits = Number(bitsArg);
const clientNCT = nctArg === 'client-nct';
// "server-bits": also offer server_max_window_bits=bits; Node's zlib then
// inflates the server's messages with that window.
const serverBits = nctArg === 'server-bits';
const sizes = sizeArgs.length ? sizeArgs.map(Number) : [16, 64, 256, 1024, 4096, 16384, 65536, 262144];
const RANDOM_MAX = 16384; // random (incompressible, echoed plain) messages up to this size
const BIG = 65536; // above this size: a text message fragmented, a binary one whole
const TIMEOUT_MS = 30000;
const WORDS = ['switchboard', 'deflate', 'héllo', 'wörld', 'Привет', '你好', '🎉', 'value', 'count', 'true'];

// A small deterministic generator (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function textOf(n, seed) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const parts = [];
  let size = 0;
  while (size < n) {
    const p = `{"id":${Math.floor(r() * 1000)},"name":"${pick(WORDS)}","tags":["${pick(WORDS)}","${pick(WORDS)}"],"ok":${r() < 0.5}},`;
    parts.push(p);
    size += Buffer.byteLength(p);
  }
  let b = Buffer.from(parts.join('')).subarray(0, n);
  // Drop a code point cut at the end, pad with ASCII to n bytes.
  let end = b.length;
  let i = end - 1;
  while (i >= 0 && (b[i] & 0xc0) === 0x80) i--;
  if (i >= 0 && b[i] >= 0xc0) {
    const need = b[i] >= 0xf0 ? 4 : b[i] >= 0xe0 ? 3 : 2;
    if (end - i < need) end = i;
  }
  return Buffer.concat([b.subarray(0, end), Buffer.alloc(n - end, 'x')]);
}

function binaryOf(n, seed) {
  const r = rng(seed);
  const rec = Buffer.from(Array.from({ length: 61 }, () => Math.floor(r() * 256)));
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; off += 64, i++) {
    const blk = Buffer.concat([Buffer.from([(i >> 16) & 255, (i >> 8) & 255, i & 255]), rec]);
    blk.copy(out, off, 0, Math.min(64, n - off));
  }
  return out;
}

function fail(name, why) {
  console.log(`FAIL ${name}: ${why}`);
  process.exit(1);
}

const perMessageDeflate = { clientMaxWindowBits: bits, threshold: 0 };
if (serverBits) {
  perMessageDeflate.serverMaxWindowBits = bits;
}
if (clientNCT) {
  perMessageDeflate.clientNoContextTakeover = true;
  perMessageDeflate.serverNoContextTakeover = true;
}
const ws = new WebSocket(url, { perMessageDeflate, maxPayload: 0 });
let ext = null;
ws.on('upgrade', (res) => { ext = res.headers['sec-websocket-extensions'] ?? null; });
const inbox = [];
let waiter = null;
ws.on('message', (data, isBinary) => {
  inbox.push({ data, isBinary });
  if (waiter) { const w = waiter; waiter = null; w(); }
});
let pongs = 0;
ws.on('pong', () => { pongs++; });
let current = 'handshake';
ws.on('close', (code, reason) => fail(current, `closed ${code} ${reason}`));
ws.on('error', (err) => fail(current, `error ${err.message}`));

function withTimeout(p, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no ${what} within ${TIMEOUT_MS}ms`)), TIMEOUT_MS); }),
  ]).finally(() => clearTimeout(timer));
}

async function recv() {
  if (!inbox.length) await withTimeout(new Promise((resolve) => { waiter = resolve; }), 'echo');
  return inbox.shift();
}

const sendP = (data, opts) => new Promise((resolve, reject) => ws.send(data, opts, (err) => (err ? reject(err) : resolve())));

// (size, kind, fragmentation) of every message, in order.
function* cases() {
  for (const n of sizes) {
    if (n > BIG) { // one text fragmented and one binary whole: enough, and fast
      yield [n, 'text', 'fragmented'];
      yield [n, 'binary', 'whole'];
      continue;
    }
    for (const kind of n <= RANDOM_MAX ? ['text', 'binary', 'random'] : ['text', 'binary']) {
      for (const frag of ['whole', 'fragmented']) yield [n, kind, frag];
    }
  }
}

async function main() {
  await withTimeout(new Promise((resolve) => ws.once('open', resolve)), 'handshake');
  console.log(`EXT ${ext}`);
  let count = 0;
  for (const [n, kind, frag] of cases()) {
    const msg = kind === 'text' ? textOf(n, n) : kind === 'binary' ? binaryOf(n, n) : randomBytes(n);
    const binary = kind !== 'text';
    const name = `${kind}-${n}-${frag}`;
    current = name;
    const pongsBefore = pongs;
    if (frag === 'whole') {
      await sendP(msg, { binary, compress: true, fin: true });
    } else {
      const cuts = [0, n >> 2, n >> 1, (3 * n) >> 2, n];
      for (let i = 0; i < 4; i++) {
        if (i) ws.ping(Buffer.from(`p${i}`));
        await sendP(msg.subarray(cuts[i], cuts[i + 1]), { binary, compress: true, fin: i === 3 });
      }
    }
    const got = await recv();
    if (got.isBinary !== binary) fail(name, `echo came back as ${got.isBinary ? 'binary' : 'text'}`);
    if (!Buffer.isBuffer(got.data) || !msg.equals(got.data)) {
      const d = Buffer.from(got.data);
      let at = 0;
      while (at < d.length && at < msg.length && d[at] === msg[at]) at++;
      fail(name, `echo differs (length ${d.length}, first difference at ${at})`);
    }
    if (frag === 'fragmented') {
      const deadline = Date.now() + TIMEOUT_MS;
      while (pongs - pongsBefore < 3) {
        if (Date.now() > deadline) fail(name, `${pongs - pongsBefore} of 3 pongs`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    console.log(`PASS ${name}`);
    count++;
  }
  console.log(`ALL PASS ${count}`);
  ws.removeAllListeners('close');
  ws.close(1000);
  ws.on('close', () => process.exit(0));
}

main().catch((err) => fail(current, `${err.name}: ${err.message}`));
