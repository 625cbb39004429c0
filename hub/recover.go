package hub

import (
	"time"

	"github.com/switchboard-ws/switchboard/engine"
)

// maxFetchTries bounds the history reads of one recovery that finds the
// history moved on between the read and the merge.
const maxFetchTries = 3

// SubscribeOptions says how to subscribe (Hub.SubscribeWith).
type SubscribeOptions struct {
	// Since, when set, recovers: every message of the topic after Since is
	// written to the connection first, in order, then the live ones, with
	// no gap and no duplicate even while publishes race with the
	// subscription. Config.OnRecovery is told the outcome before any
	// message. When the history no longer covers Since (too old, another
	// epoch), the connection is subscribed live all the same and
	// OnRecovery hears Recovered false with the current position.
	Since *Position
	// Info, when not nil, makes the subscription a member of the topic's
	// presence, with this information about it (e.g. a user id as JSON):
	// see Presence, PresenceCount and Config.PresenceEvent. It is copied.
	Info []byte
}

// recoverReq is one subscription from a position on its way to its loop.
type recoverReq struct {
	c     *engine.Conn
	sh    *shard
	s     *stream
	since Position
	tries int
	pres  *presence // presence of the subscription, or nil

	// Set once the broker's history was read (Fetch).
	fetched bool
	res     FetchResult
	frames  []hentry
	marked  bool // the history read holds a loss marker after since
}

// SubscribeWith is Subscribe with options: with o.Since, it recovers what
// c missed from the topic's history (see SubscribeOptions). A topic without
// history gives ErrNoHistory for Since. Like Subscribe, it never blocks;
// the recovery happens on c's event loop (after a read of the broker's
// history when this node's part of it does not cover o.Since).
func (h *Hub) SubscribeWith(c *engine.Conn, topic string, o SubscribeOptions) error {
	if o.Since == nil {
		if o.Info != nil {
			return h.subscribeInfo(c, topic, h.newPresence(o.Info))
		}
		return h.Subscribe(c, topic)
	}
	if c.Closed() {
		return engine.ErrClosed
	}
	s := h.streamOf(topic)
	if s == nil {
		return ErrNoHistory
	}
	sh, err := h.acquire(c.Loop(), topic)
	if err != nil {
		return err
	}
	sh.ls.run(item{op: opRecover, req: &recoverReq{c: c, sh: sh, s: s, since: *o.Since, pres: h.newPresence(o.Info)}})
	return nil
}

// recover runs on c's loop: it reads what c missed (under the stream's
// lock, so every message is either read here or queued behind this op),
// tells OnRecovery, writes the backlog and adds c, skipping the queued
// messages the backlog already held.
func (ls *loopState) recover(r *recoverReq) {
	h, c, sh, s := ls.h, r.c, r.sh, r.s
	if c.Closed() || ls.subscribed(c, sh) {
		h.release(sh)
		return
	}
	s.mu.Lock()
	now := time.Now().UnixNano()
	s.active = now
	h.trimLocked(s, now)
	if !s.synced {
		s.waiting = append(s.waiting, r) // Sync hands it back to the loop
		s.mu.Unlock()
		return
	}
	cur := Position{Offset: s.top, Epoch: s.epoch}
	var backlog []hentry
	ok := false
	after := s.top
	switch {
	case r.fetched:
		res := r.res
		top := r.since.Offset
		if n := len(r.frames); n > 0 {
			top = r.frames[n-1].off
		}
		switch {
		case r.marked || res.Err != nil || res.Epoch != r.since.Epoch || r.since.Offset+1 < res.First ||
			res.Epoch != s.epoch || r.since.Offset > res.Top:
			// Not recoverable.
		case top >= s.top || top+1 >= s.first:
			ok = true
			backlog = append(backlog, r.frames...)
			backlog = append(backlog, s.since(top)...)
			after = max(top, s.top)
			cur.Offset = after
		case r.tries < maxFetchTries:
			// This node's part of the history moved past what was read:
			// read again.
			s.mu.Unlock()
			h.fetch(r)
			return
		}
	case s.covers(r.since):
		ok = true
		backlog = append(backlog, s.since(r.since.Offset)...)
	case h.hbroker != nil && !r.fetched:
		// Not in this node's part (older, or newer than what this node
		// has seen while it had no subscriber): read the broker's.
		s.mu.Unlock()
		h.fetch(r)
		return
	}
	s.mu.Unlock()

	rec := Recovery{Recovered: ok, Position: cur, Replayed: len(backlog)}
	if ok {
		h.recovered.Add(1)
		h.replayed.Add(uint64(len(backlog)))
	} else {
		h.recoverFailed.Add(1)
	}
	if h.onRecovery != nil {
		h.onRecovery(c, s.name, rec)
	}
	shared := c.SharedDeflate()
	thr := ls.loop.DeflateThreshold()
	for i := range backlog {
		e := &backlog[i]
		f := e.f
		if shared && e.zf != nil && f.PayloadLen() >= thr {
			f = e.zf
		}
		if err := c.WritePrepared(f); err != nil && err != engine.ErrOutboundFull {
			break // closed: add below gives the count back
		}
	}
	ls.add(c, sh, true, after, r.pres)
}

// fetch reads the broker's history for r, then hands r back to its loop.
func (h *Hub) fetch(r *recoverReq) {
	r.tries++
	h.hbroker.Fetch(r.s.name, *r.s.rule, r.since.Offset, func(res FetchResult) {
		r.fetched, r.res, r.frames, r.marked = true, res, r.frames[:0], false
		if res.Err == nil && res.Epoch == r.since.Epoch {
			want := r.since.Offset + 1
			for _, e := range res.Entries {
				if e.Offset != want {
					break // a gap: what follows is not recoverable from here
				}
				if e.Lost {
					// Messages after since reached one node only: the
					// history cannot give them back.
					r.marked = true
					break
				}
				op, ok := opcode(e.Type)
				if !ok {
					break
				}
				f, _ := h.encode(nil, r.s.name, Position{Offset: e.Offset, Epoch: res.Epoch}, op, e.Payload)
				r.frames = append(r.frames, hentry{off: e.Offset, f: f})
				want++
			}
		}
		r.sh.ls.enqueue(item{op: opRecover, req: r})
	})
}

// lost tells sh's subscribers (on the loop) that messages up to pos are
// gone for them.
func (ls *loopState) lost(sh *shard, pos Position) {
	h := ls.h
	if h.onRecovery == nil {
		return
	}
	for i := 0; i < len(sh.subs); i++ {
		if m := sh.subs[i].m; m != nil && !m.c.Closed() {
			h.lostReports.Add(1)
			h.onRecovery(m.c, sh.t.name, Recovery{Position: pos})
		}
	}
}

// streamSink is the hub's side of a HistoryBroker.
type streamSink struct{ h *Hub }

func (k streamSink) Deliver(topic string, typ engine.MessageType, payload []byte, pos Position) {
	h := k.h
	op, ok := opcode(typ)
	if !ok {
		return
	}
	if pos.IsZero() {
		h.publishPlain(topic, op, payload)
		return
	}
	s := h.streamOf(topic)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.synced || pos.Epoch != s.epoch || pos.Offset != s.top+1 {
		if s.synced && pos.Epoch == s.epoch && pos.Offset <= s.top {
			return // a duplicate
		}
		h.syncLocked(s, Position{Offset: pos.Offset - 1, Epoch: pos.Epoch}, s.synced)
	}
	h.appendAndSend(s, pos, op, payload, false)
}

func (k streamSink) Position(topic string) (Position, bool) { return k.h.Position(topic) }

func (k streamSink) Sync(topic string, pos Position, lost bool) {
	h := k.h
	s := h.streamOf(topic)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.synced && !lost && pos.Epoch == s.epoch && pos.Offset == s.top {
		return
	}
	h.syncLocked(s, pos, lost || (s.synced && (pos.Epoch != s.epoch || pos.Offset != s.top)))
}

// syncLocked restarts s at pos; with report, the topic's live subscribers
// are told they missed messages. Parked recoveries go back to their loops.
func (h *Hub) syncLocked(s *stream, pos Position, report bool) {
	h.resetLocked(s, pos.Epoch, pos.Offset)
	s.synced = true
	for _, r := range s.waiting {
		r.sh.ls.enqueue(item{op: opRecover, req: r})
	}
	s.waiting = nil
	if !report {
		return
	}
	h.mu.RLock()
	t := h.topics[s.name]
	h.mu.RUnlock()
	if t == nil {
		return
	}
	if p := t.shards.Load(); p != nil {
		for _, sh := range *p {
			sh.ls.enqueue(item{op: opLost, sh: sh, pos: pos})
		}
	}
}
