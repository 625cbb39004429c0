// switchboard.js: a browser client for switchboard's room protocol
// (docs/protocol.md). One small ES module, no dependencies.
//
//   import { connect } from "/switchboard.js";
//   const room = connect("/ws", {
//     room: "lobby",
//     params: { name: "alice" },
//     onMessage(data, pos) { ... },        // data: the text published; pos: {offset, epoch}
//     onRecovery(info) { ... },            // {recovered: false, offset, epoch}: history lost, reload state
//     onPresence(members) { ... },         // [{id, info}], on join and whenever it changes
//     onJoin(member) {}, onLeave(member) {},
//     onStatus(state, detail) { ... },     // "connecting" | "open" | "closed" (detail: {code, delay})
//   });
//   room.send("hello");   room.position();   room.close();
//
// It keeps the room's position (offset + epoch of the last message), and
// after a drop reconnects with exponential backoff and full jitter (a random
// wait between 0 and min(maxDelay, minDelay * 2^attempt)), asking for what
// it missed (?since=OFFSET&epoch=EPOCH). A gap in offsets (a message the
// server could not deliver, e.g. dropped for a slow connection) makes it
// reconnect to recover too. Duplicates are ignored.

export function connect(url, opts = {}) {
  const o = {
    minDelay: 1000, maxDelay: 30000, random: Math.random,
    WebSocket: globalThis.WebSocket, ...opts,
  };
  let pos = o.since ? { offset: o.since.offset, epoch: o.since.epoch } : null;
  let ws = null, attempt = 0, timer = null, closed = false;
  const members = new Map();

  const status = (state, detail) => o.onStatus && o.onStatus(state, detail || {});

  function target() {
    const u = new URL(url, globalThis.location ? globalThis.location.href : undefined);
    if (u.protocol === "http:") u.protocol = "ws:";
    if (u.protocol === "https:") u.protocol = "wss:";
    if (o.room !== undefined) u.searchParams.set("room", o.room);
    for (const [k, v] of Object.entries(o.params || {})) u.searchParams.set(k, v);
    if (pos && pos.epoch) {
      u.searchParams.set("since", String(pos.offset));
      u.searchParams.set("epoch", pos.epoch);
    }
    return u.toString();
  }

  function open() {
    timer = null;
    if (closed) return;
    status("connecting");
    const sock = new o.WebSocket(target());
    ws = sock;
    api.socket = sock;
    sock.onopen = () => { attempt = 0; status("open"); };
    sock.onmessage = (ev) => { if (ws === sock) handle(ev.data); };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      if (closed) { status("closed", { code: ev.code }); return; }
      const delay = o.random() * Math.min(o.maxDelay, o.minDelay * 2 ** attempt);
      attempt++;
      status("closed", { code: ev.code, delay });
      timer = setTimeout(open, delay);
    };
  }

  // reopen drops the socket and connects again from pos: at once, unless
  // gaps keep coming (three within 10 s), then after the backoff.
  let lastGap = 0, gapRun = 0;
  function reopen() {
    const sock = ws;
    ws = null;
    if (sock) { sock.onclose = null; sock.close(4000, "recovering"); }
    if (closed) return;
    const now = Date.now();
    gapRun = now - lastGap < 10000 ? gapRun + 1 : 0;
    lastGap = now;
    if (gapRun < 3) { open(); return; }
    const delay = o.random() * Math.min(o.maxDelay, o.minDelay * 2 ** attempt);
    attempt++;
    status("closed", { code: 4000, delay });
    timer = setTimeout(open, delay);
  }

  function handle(raw) {
    let m;
    try { m = JSON.parse(raw); } catch { return; }
    if (m === null || typeof m !== "object") return;
    if ("offset" in m && "data" in m) {
      if (!m.offset) { o.onMessage && o.onMessage(m.data, null); return; } // unnumbered
      if (pos && pos.epoch === m.epoch) {
        if (m.offset <= pos.offset) return;                  // a duplicate
        if (m.offset > pos.offset + 1) { reopen(); return; } // a gap: recover it
      }
      pos = { offset: m.offset, epoch: m.epoch };
      o.onMessage && o.onMessage(m.data, { offset: m.offset, epoch: m.epoch });
    } else if (m.recovered === false) {
      pos = m.epoch ? { offset: m.offset, epoch: m.epoch } : null;
      o.onRecovery && o.onRecovery(m);
    } else if (Array.isArray(m.presence)) {
      members.clear();
      for (const p of m.presence) members.set(p.id, p);
      o.onPresence && o.onPresence([...members.values()]);
    } else if (m.join) {
      if (members.has(m.join.id)) return; // already listed
      members.set(m.join.id, m.join);
      o.onJoin && o.onJoin(m.join);
      o.onPresence && o.onPresence([...members.values()]);
    } else if (m.leave) {
      members.delete(m.leave.id);
      o.onLeave && o.onLeave(m.leave);
      o.onPresence && o.onPresence([...members.values()]);
    }
  }

  const api = {
    socket: null,
    // send sends text on the current connection; false when disconnected.
    send(text) {
      if (!ws || ws.readyState !== 1) return false;
      ws.send(text);
      return true;
    },
    // position is the last message's {offset, epoch}, or null.
    position() { return pos ? { ...pos } : null; },
    members() { return [...members.values()]; },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (ws) ws.close(1000);
    },
  };
  open();
  return api;
}
