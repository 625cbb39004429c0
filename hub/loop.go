package hub

import (
	"sync"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// spareCap is the largest queue kept for reuse after a burst.
const spareCap = 256

// loopState is the hub's state for one event loop: a queue of work handed
// to the loop by other goroutines (publishes and subscription changes, in
// the order they were handed over) and the loop's subscribed connections.
type loopState struct {
	h       *Hub
	loop    engine.Loop
	drainFn func() // bound once: scheduling a drain allocates nothing

	mu        sync.Mutex
	queue     []item
	spare     []item
	pending   int   // publishes queued, counted against Hub.maxQueued
	queued    int64 // their frames' bytes, counted against Hub.maxQueuedBytes
	scheduled bool  // a drain is handed to the loop and has not started

	members  map[*engine.Conn]*member // loop only
	pres     map[*member][]mpres      // loop only: subscriptions with presence
	draining bool                     // loop only: drain is running
}

type opKind uint8

const (
	opDeliver opKind = iota
	opSubscribe
	opUnsubscribe
	opUnsubscribeAll
	opRecover // subscribe from a position
	opLost    // tell a shard's subscribers they missed messages
)

type item struct {
	op    opKind
	sh    *shard               // deliver, subscribe
	frame *codec.PreparedFrame // deliver
	zf    *codec.PreparedFrame // deliver: frame compressed, or nil
	c     *engine.Conn         // subscribe, unsubscribe
	topic string               // unsubscribe
	off   uint64               // deliver: the message's offset, 0 if unnumbered
	req   *recoverReq          // recover
	pos   Position             // lost
}

func newLoopState(h *Hub, loop engine.Loop) *loopState {
	ls := &loopState{h: h, loop: loop, members: make(map[*engine.Conn]*member)}
	ls.drainFn = ls.drain
	return ls
}

// run does it now when called on the loop with nothing handed to the loop
// still pending (so it cannot overtake earlier work), else hands it over.
// It reports false for a publish refused by the queue's bounds.
func (ls *loopState) run(it item) bool {
	if ls.loop.OnLoop() && !ls.draining {
		ls.mu.Lock()
		idle := len(ls.queue) == 0
		ls.mu.Unlock()
		if idle {
			ls.do(&it)
			return true
		}
	}
	return ls.enqueue(it)
}

func (ls *loopState) do(it *item) {
	switch it.op {
	case opDeliver:
		ls.deliver(it.sh, it.frame, it.zf, it.off)
	case opSubscribe:
		var p *presence
		if it.req != nil {
			p = it.req.pres
		}
		ls.add(it.c, it.sh, false, 0, p)
	case opRecover:
		ls.recover(it.req)
	case opLost:
		ls.lost(it.sh, it.pos)
	case opUnsubscribe:
		ls.removeTopic(it.c, it.topic)
	case opUnsubscribeAll:
		ls.removeAll(it.c)
	}
}

// enqueue hands it to the loop; the first item of a batch schedules one
// drain, later ones ride along. A publish that would pass the queue's
// bounds is refused.
func (ls *loopState) enqueue(it item) bool {
	ls.mu.Lock()
	if it.op == opDeliver {
		size := int64(len(it.frame.Bytes()))
		if it.zf != nil {
			size += int64(len(it.zf.Bytes()))
		}
		if ls.pending >= ls.h.maxQueued || ls.queued+size > ls.h.maxQueuedBytes {
			ls.mu.Unlock()
			return false
		}
		ls.pending++
		ls.queued += size
	}
	ls.queue = append(ls.queue, it)
	wake := !ls.scheduled
	ls.scheduled = true
	ls.mu.Unlock()
	if wake {
		if err := ls.loop.Execute(ls.drainFn); err != nil {
			ls.abandon()
		}
	}
	return true
}

// abandon empties the queue of a loop that no longer runs (its server has
// stopped): pending subscriptions are given back, publishes dropped.
func (ls *loopState) abandon() {
	ls.mu.Lock()
	batch := ls.queue
	ls.queue = nil
	ls.pending, ls.queued = 0, 0
	ls.scheduled = false
	ls.mu.Unlock()
	for i := range batch {
		switch batch[i].op {
		case opSubscribe:
			ls.h.release(batch[i].sh)
		case opRecover:
			ls.h.release(batch[i].req.sh)
		}
	}
}

// drain runs on the loop: everything queued so far, in order.
func (ls *loopState) drain() {
	ls.mu.Lock()
	batch := ls.queue
	ls.queue = ls.spare[:0]
	ls.spare = nil
	ls.pending, ls.queued = 0, 0
	ls.scheduled = false
	ls.mu.Unlock()
	ls.draining = true
	for i := range batch {
		ls.do(&batch[i])
		batch[i] = item{}
	}
	ls.draining = false
	if cap(batch) <= spareCap {
		ls.mu.Lock()
		if ls.spare == nil {
			ls.spare = batch[:0]
		}
		ls.mu.Unlock()
	}
}

// deliver writes f to every subscriber of sh (on the loop), or zf, its
// compressed form when not nil, to those that take it (SharedDeflate).
// Writes go straight to the sockets; the engine applies each connection's
// outbound limit and policy.
//
// off > 0 is the message's offset: a subscriber whose recovery already
// wrote it from history (entry.rec) skips it.
func (ls *loopState) deliver(sh *shard, f, zf *codec.PreparedFrame, off uint64) {
	if zf != nil && f.PayloadLen() < ls.loop.DeflateThreshold() {
		zf = nil
	}
	sh.depth++
	n := len(sh.subs)
	var sent, sentZ, dropped uint64
	for i := 0; i < n && i < len(sh.subs); i++ {
		e := &sh.subs[i]
		m := e.m
		if m == nil {
			continue
		}
		if e.rec != 0 && off != 0 {
			if recCovers(e.rec, off) {
				continue // written from history by its recovery
			}
			e.rec = 0
		}
		g := f
		if zf != nil && m.c.SharedDeflate() {
			g = zf
		}
		switch err := m.c.WritePrepared(g); err {
		case nil:
			sent++
			if g == zf {
				sentZ++
			}
		case engine.ErrOutboundFull:
			// Dropped (PolicyDrop) or the connection was closed for it
			// (PolicyClose): either way this subscriber missed it.
			dropped++
		default:
			// Closed or closing: it will receive nothing more. Remove it
			// here in case the application's OnClose does not.
			dropped++
			if e := sh.subs[i]; e.m == m {
				ls.remove(m, int(e.k))
			}
		}
	}
	sh.depth--
	if sh.depth == 0 && sh.holes > 0 {
		sh.compact()
	}
	t := sh.t
	t.delivered.Add(sent)
	ls.h.delivered.Add(sent)
	if sentZ > 0 {
		ls.h.deliveredZ.Add(sentZ)
	}
	if dropped > 0 {
		t.dropped.Add(dropped)
		ls.h.dropped.Add(dropped)
	}
}

// add subscribes c to sh (on the loop), or gives the count back when c is
// closed or already subscribed. With recovered, messages numbered after or
// below are skipped for it (they were written from history). It reports
// whether c was added.
//
// With p, c joins the topic's presence.
func (ls *loopState) add(c *engine.Conn, sh *shard, recovered bool, after uint64, p *presence) bool {
	if c.Closed() || ls.subscribed(c, sh) {
		ls.h.release(sh)
		return false
	}
	m := ls.members[c]
	if m == nil {
		m = &member{c: c}
		ls.members[c] = m
	}
	m.subs = append(m.subs, msub{sh: sh, i: int32(len(sh.subs))})
	if p != nil {
		if ls.pres == nil {
			ls.pres = make(map[*member][]mpres)
		}
		ls.pres[m] = append(ls.pres[m], mpres{sh: sh, p: p})
	}
	var rec uint32
	if recovered {
		rec = recMark(after)
	}
	sh.subs = append(sh.subs, entry{m: m, k: int32(len(m.subs) - 1), rec: rec})
	if c.SharedDeflate() {
		sh.shared.Add(1)
	}
	if p != nil {
		ls.h.joined(sh.t.name, p)
	}
	return true
}

// subscribed reports whether c is subscribed to sh (on the loop).
func (ls *loopState) subscribed(c *engine.Conn, sh *shard) bool {
	if m := ls.members[c]; m != nil {
		for _, s := range m.subs {
			if s.sh == sh {
				return true
			}
		}
	}
	return false
}

// removeTopic unsubscribes c from the topic named name (on the loop).
func (ls *loopState) removeTopic(c *engine.Conn, name string) {
	m := ls.members[c]
	if m == nil {
		return
	}
	for k, s := range m.subs {
		if s.sh.t.name == name {
			ls.remove(m, k)
			return
		}
	}
}

// removeAll unsubscribes c from everything (on the loop).
func (ls *loopState) removeAll(c *engine.Conn) {
	m := ls.members[c]
	if m == nil {
		return
	}
	delete(ls.members, c)
	h := ls.h
	h.mu.Lock()
	for _, s := range m.subs {
		s.sh.unlink(int(s.i))
		h.releaseLocked(s.sh)
	}
	h.mu.Unlock()
	if ps, ok := ls.pres[m]; ok {
		delete(ls.pres, m)
		for _, x := range ps {
			h.left(x.sh.t.name, x.p)
		}
	}
	m.subs = nil
}

// remove drops m's subscription k (on the loop).
func (ls *loopState) remove(m *member, k int) {
	s := m.subs[k]
	s.sh.unlink(int(s.i))
	last := len(m.subs) - 1
	if k != last {
		mv := m.subs[last]
		m.subs[k] = mv
		mv.sh.subs[mv.i].k = int32(k)
	}
	m.subs[last] = msub{}
	m.subs = m.subs[:last]
	if len(m.subs) == 0 {
		delete(ls.members, m.c)
	}
	ls.h.release(s.sh)
	if len(ls.pres) > 0 {
		if p := ls.takePres(m, s.sh); p != nil {
			ls.h.left(s.sh.t.name, p)
		}
	}
}

// takePres removes and returns the presence of m's subscription to sh.
func (ls *loopState) takePres(m *member, sh *shard) *presence {
	ps := ls.pres[m]
	for i, x := range ps {
		if x.sh == sh {
			last := len(ps) - 1
			ps[i] = ps[last]
			ps[last] = mpres{}
			if last == 0 {
				delete(ls.pres, m)
			} else {
				ls.pres[m] = ps[:last]
			}
			return x.p
		}
	}
	return nil
}

// unlink removes entry i from the shard: swapped with the last one, or
// emptied while a delivery walks the list.
func (sh *shard) unlink(i int) {
	if m := sh.subs[i].m; m != nil && m.c.SharedDeflate() {
		sh.shared.Add(-1)
	}
	if sh.depth > 0 {
		sh.subs[i] = entry{}
		sh.holes++
		return
	}
	last := len(sh.subs) - 1
	if i != last {
		mv := sh.subs[last]
		sh.subs[i] = mv
		mv.m.subs[mv.k].i = int32(i)
	}
	sh.subs[last] = entry{}
	sh.subs = sh.subs[:last]
	sh.shrink()
}

// compact closes the holes left by removals during deliveries.
func (sh *shard) compact() {
	j := 0
	for i := range sh.subs {
		e := sh.subs[i]
		if e.m == nil {
			continue
		}
		if i != j {
			sh.subs[j] = e
			e.m.subs[e.k].i = int32(j)
		}
		j++
	}
	clear(sh.subs[j:])
	sh.subs = sh.subs[:j]
	sh.holes = 0
	sh.shrink()
}

// shrink gives memory back once a large list has emptied to a quarter.
func (sh *shard) shrink() {
	if c := cap(sh.subs); c > 64 && len(sh.subs) < c/4 {
		sh.subs = append(make([]entry, 0, 2*len(sh.subs)), sh.subs...)
	}
}
