// Interop client: Node's built-in WebSocket (undici's; in Node 20 behind
// --experimental-websocket, on by default from Node 22).
//
//   node --experimental-websocket client_builtin.mjs ws://127.0.0.1:PORT/ ws://127.0.0.1:HBPORT/
//
// The first URL is an echo with default settings, the second one that pings
// often (see web_cases.js).
//
// Runs the cases of web_cases.js. Prints "PASS <case>" or "FAIL <case>: why"
// per case and "ALL PASS" at the end; exits non-zero on any failure.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { runWebCases, runServerPing } = require('./web_cases.js');

if (typeof WebSocket !== 'function') {
  console.log('FAIL setup: no global WebSocket (Node 20 needs --experimental-websocket)');
  process.exit(1);
}
const [url, hbURL] = process.argv.slice(2);
const log = (line) => console.log(line);
const what = "Node's built-in WebSocket";
const r1 = await runWebCases(WebSocket, url, log, what);
const r2 = await runServerPing(WebSocket, hbURL, log, what);
if (r1.failed.length || r2.failed.length) process.exit(1);
console.log('ALL PASS');
