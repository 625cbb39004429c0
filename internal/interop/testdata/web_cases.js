// The interop cases for a WHATWG WebSocket (a browser's, Node's built-in),
// shared by page.html (in Chromium) and client_builtin.mjs (in Node).
//
// Such a WebSocket cannot send fragments or pings: "large-text" (a 1 MiB
// multi-byte text message) stands in for "fragmented", and "server-ping"
// checks that a quiet connection to a second echo, one started with a short
// ping interval and pong timeout (echo -ping-interval 200ms), outlives
// several ping intervals and the pong timeout: the WebSocket answers the
// server's pings by itself, and the server closes a connection that does not.
(function (root) {
  'use strict';

  const TEXT = 'héllo wörld · Привет · 你好世界 · 🎉🚀 · 𝄞'; // 2, 3 and 4-byte UTF-8
  const CLOSE_REASON = 'bye — ok';
  const IDLE_MS = 4000; // past the heartbeat echo's ping interval + pong timeout
  const TIMEOUT_MS = 20000;

  function binary1MiB() {
    const b = new Uint8Array(1 << 20);
    for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >> 9)) & 0xff;
    return b;
  }

  // A text of at most 1 MiB of UTF-8 (the echo's default message limit).
  function largeText() {
    const unit = TEXT + ' | ';
    const unitBytes = new TextEncoder().encode(unit).length;
    return unit.repeat(Math.floor((1 << 20) / unitBytes));
  }

  function expect(cond, why) {
    if (!cond) throw new Error(why);
  }

  function withTimeout(p, what, ms) {
    let t;
    return Promise.race([
      p,
      new Promise((_, reject) => { t = setTimeout(() => reject(new Error('timed out waiting for ' + what)), ms || TIMEOUT_MS); }),
    ]).finally(() => clearTimeout(t));
  }

  function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
  }

  // runWebCases connects to url (an echo with default settings) with
  // WebSocketImpl and runs every case but server-ping; what names the client
  // in notes. It calls log(line) with "PASS case", "FAIL case: why" or a note
  // and resolves to {passed, failed} (arrays of case names).
  async function runWebCases(WebSocketImpl, url, log, what) {
    const passed = [];
    const failed = [];
    const inbox = [];
    const waiters = [];
    let closeEvent = null;
    let resolveClosed;
    const closed = new Promise((r) => { resolveClosed = r; });
    const nextMessage = () => {
      if (inbox.length) return Promise.resolve(inbox.shift());
      return withTimeout(new Promise((r) => waiters.push(r)), 'a message');
    };

    const ws = new WebSocketImpl(url);
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (e) => { if (waiters.length) waiters.shift()(e.data); else inbox.push(e.data); };
    ws.onclose = (e) => {
      closeEvent = { code: e.code, reason: e.reason, wasClean: e.wasClean };
      resolveClosed(closeEvent);
      const w = waiters.splice(0);
      w.forEach((r) => r(null));
    };
    const notClosed = () => expect(!closeEvent, 'connection closed: code ' + (closeEvent && closeEvent.code) +
      ' reason ' + JSON.stringify(closeEvent && closeEvent.reason));

    const cases = [
      ['utf8-text', async () => {
        ws.send(TEXT);
        const got = await nextMessage();
        notClosed();
        expect(typeof got === 'string', 'got a binary message');
        expect(got === TEXT, 'got ' + JSON.stringify(got));
      }],
      ['binary-1MiB', async () => {
        const want = binary1MiB();
        ws.send(want);
        const got = await nextMessage();
        notClosed();
        expect(got instanceof ArrayBuffer, 'got ' + typeof got);
        const g = new Uint8Array(got);
        expect(g.length === want.length, 'got ' + g.length + ' bytes');
        for (let i = 0; i < g.length; i++) expect(g[i] === want[i], 'byte ' + i + ' differs');
      }],
      ['large-text', async () => {
        log('   (' + what + ' cannot send fragments: a large multi-byte text message instead)');
        const want = largeText();
        ws.send(want);
        const got = await nextMessage();
        notClosed();
        expect(typeof got === 'string', 'got a binary message');
        expect(got === want, 'got ' + (got ? got.length : 0) + ' UTF-16 units, want ' + want.length);
      }],
      ['close-1000', async () => {
        ws.close(1000, CLOSE_REASON);
        const e = await withTimeout(closed, 'the close');
        log('   (server answered close with code ' + e.code + ', reason ' + JSON.stringify(e.reason) +
          ', wasClean ' + e.wasClean + ')');
        expect(e.code === 1000, 'close code ' + e.code + ', want 1000');
        expect(e.reason === '' || e.reason === CLOSE_REASON, 'close reason ' + JSON.stringify(e.reason));
        expect(e.wasClean, 'not a clean close');
      }],
    ];

    try {
      await withTimeout(new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('error event before open'));
      }), 'the handshake');
      ws.onerror = () => log('   (error event)');
    } catch (err) {
      failed.push('connect');
      log('FAIL connect: ' + err.message);
      return { passed, failed };
    }
    for (const [name, fn] of cases) {
      try {
        await fn();
        passed.push(name);
        log('PASS ' + name);
      } catch (err) {
        failed.push(name);
        log('FAIL ' + name + ': ' + err.message);
        break;
      }
    }
    if (!closeEvent) ws.close();
    return { passed, failed };
  }

  // runServerPing is the server-ping case on a quiet connection to hbURL,
  // the echo that pings often. Results as for runWebCases.
  async function runServerPing(WebSocketImpl, hbURL, log, what) {
    log('   (' + what + ' cannot send pings: staying quiet ' + IDLE_MS + ' ms on a connection to the echo that pings often)');
    const hb = new WebSocketImpl(hbURL);
    let hbClose = null;
    let resolveHBClosed;
    const hbClosed = new Promise((r) => { resolveHBClosed = r; });
    hb.onclose = (e) => { hbClose = e; resolveHBClosed(e); };
    try {
      await withTimeout(new Promise((resolve, reject) => {
        hb.onopen = resolve;
        hb.onerror = () => reject(new Error('error event before open'));
      }), 'the handshake');
      await sleep(IDLE_MS);
      expect(!hbClose, 'closed while quiet: code ' + (hbClose && hbClose.code));
      const got = new Promise((r) => { hb.onmessage = (e) => r(e.data); });
      hb.send('after-idle');
      const data = await withTimeout(got, 'the echo');
      expect(data === 'after-idle', 'got ' + JSON.stringify(data));
      hb.close(1000);
      const e = await withTimeout(hbClosed, 'the close');
      expect(e.code === 1000, 'close code ' + e.code + ', want 1000');
    } catch (err) {
      log('FAIL server-ping: ' + err.message);
      if (!hbClose) hb.close();
      return { passed: [], failed: ['server-ping'] };
    }
    log('PASS server-ping');
    return { passed: ['server-ping'], failed: [] };
  }

  // runRefused checks that a handshake the server must refuse (a page from
  // another origin) never opens: the WebSocket reports an error and closes
  // with 1006.
  async function runRefused(WebSocketImpl, url, log) {
    const ws = new WebSocketImpl(url);
    let opened = false;
    let errored = false;
    ws.onopen = () => { opened = true; };
    ws.onerror = () => { errored = true; };
    try {
      const e = await withTimeout(new Promise((r) => { ws.onclose = r; }), 'the refusal');
      log('   (cross-origin WebSocket: error event ' + errored + ', close code ' + e.code + ')');
      expect(!opened, 'the connection opened');
      expect(errored, 'no error event');
      expect(e.code === 1006, 'close code ' + e.code + ', want 1006');
    } catch (err) {
      log('FAIL origin-refused: ' + err.message);
      return { passed: [], failed: ['origin-refused'] };
    }
    log('PASS origin-refused');
    return { passed: ['origin-refused'], failed: [] };
  }

  const api = { runWebCases, runServerPing, runRefused };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.interop = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
