// Unit test of static/switchboard.js without a browser: a fake WebSocket
// and fake timers drive reconnection (backoff with full jitter), recovery
// parameters, duplicates, gaps, recovery notices and presence.
//
//   node client_test.mjs
import assert from "node:assert/strict";
import { connect } from "../static/switchboard.js";

const sockets = [];
class FakeWS {
  constructor(url) { this.url = new URL(url); this.readyState = 0; this.sent = []; this.closedWith = null; sockets.push(this); }
  send(t) { this.sent.push(t); }
  close(code) { this.closedWith = code; this.readyState = 3; }
  open() { this.readyState = 1; this.onopen && this.onopen(); }
  msg(obj) { this.onmessage && this.onmessage({ data: JSON.stringify(obj) }); }
  drop(code = 1006) { this.readyState = 3; this.onclose && this.onclose({ code }); }
}
const timers = [];
globalThis.setTimeout = (fn, ms) => { timers.push({ fn, ms }); return timers.length; };
globalThis.clearTimeout = () => {};
const fire = () => timers.shift().fn();

const got = [], recoveries = [], presence = [], status = [];
const c = connect("ws://chat.example/ws", {
  room: "lobby", params: { name: "alice" }, WebSocket: FakeWS, random: () => 0.5,
  onMessage: (d, p) => got.push([d, p ? p.offset : undefined]),
  onRecovery: (i) => recoveries.push(i),
  onPresence: (m) => presence.push(m.map((x) => x.info.name).sort().join(",")),
  onStatus: (s, d) => status.push([s, d.delay]),
});
let ws = sockets.at(-1);
assert.equal(ws.url.searchParams.get("room"), "lobby");
assert.equal(ws.url.searchParams.get("name"), "alice");
assert.equal(ws.url.searchParams.has("since"), false);
ws.open();
ws.msg({ offset: 1, epoch: "E", data: "a" });
ws.msg({ offset: 2, epoch: "E", data: "b" });
ws.msg({ offset: 2, epoch: "E", data: "b" });   // duplicate: dropped
ws.msg({ offset: 0, epoch: "", data: "local" }); // unnumbered: shown, position kept
assert.deepEqual(got, [["a", 1], ["b", 2], ["local", undefined]]);
assert.deepEqual(c.position(), { offset: 2, epoch: "E" });
assert.ok(c.send("hi"));
assert.deepEqual(ws.sent, ["hi"]);

// Presence: list, join (twice: once counted), leave.
ws.msg({ presence: [{ id: "1", info: { name: "alice" } }] });
ws.msg({ join: { id: "2", info: { name: "bob" } } });
ws.msg({ join: { id: "2", info: { name: "bob" } } });
ws.msg({ leave: { id: "2", info: { name: "bob" } } });
assert.deepEqual(presence, ["alice", "alice,bob", "alice"]);

// Drops: full jitter over 1s, 2s, 4s, ... capped at 30s (random 0.5).
const delays = [];
for (let i = 0; i < 7; i++) {
  sockets.at(-1).drop();
  delays.push(timers.at(-1).ms);
  fire();
}
assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 15000, 15000]);
ws = sockets.at(-1);
assert.equal(ws.url.searchParams.get("since"), "2");
assert.equal(ws.url.searchParams.get("epoch"), "E");
ws.open(); // resets the backoff
ws.drop();
assert.equal(timers.at(-1).ms, 500);
fire();
ws = sockets.at(-1);
ws.open();

// A gap: reconnect at once from the position, without waiting.
const before = sockets.length;
ws.msg({ offset: 3, epoch: "E", data: "c" });
ws.msg({ offset: 5, epoch: "E", data: "e" });
assert.equal(ws.closedWith, 4000);
assert.equal(sockets.length, before + 1);
ws = sockets.at(-1);
assert.equal(ws.url.searchParams.get("since"), "3");
ws.open();
ws.msg({ offset: 4, epoch: "E", data: "d" });
ws.msg({ offset: 5, epoch: "E", data: "e" });
assert.deepEqual(got.slice(-3), [["c", 3], ["d", 4], ["e", 5]]);

// Recovery impossible: told, position moves to the new epoch.
ws.msg({ recovered: false, epoch: "F", offset: 9 });
assert.deepEqual(recoveries, [{ recovered: false, epoch: "F", offset: 9 }]);
assert.deepEqual(c.position(), { offset: 9, epoch: "F" });
ws.msg({ offset: 10, epoch: "F", data: "new" });
assert.deepEqual(got.at(-1), ["new", 10]);

// close: no reconnection.
c.close();
const n = timers.length;
ws.drop(1000);
assert.equal(timers.length, n);
console.log("switchboard.js: ok");
