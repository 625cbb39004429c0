package hub

import (
	"sync/atomic"

	"github.com/switchboard-ws/switchboard/engine"
)

// topic is one topic with subscribers on this node. It exists while refs >
// 0 and is then removed from the registry (its counters go with it).
type topic struct {
	name string
	refs int // subscriptions, made or on their way to a loop (Hub.mu)

	// shards lists the loops with subscribers: replaced whole under Hub.mu,
	// read without a lock by Publish.
	shards atomic.Pointer[[]*shard]

	published atomic.Uint64
	delivered atomic.Uint64
	dropped   atomic.Uint64
	overflows atomic.Uint64
}

// shard is one topic on one event loop. Its subscriber list is touched
// only on that loop.
type shard struct {
	t    *topic
	ls   *loopState
	refs int // subscriptions on this loop, made or on their way (Hub.mu)

	// shared counts the subscribers in subs whose connection takes a
	// shared compressed frame (engine.Conn.SharedDeflate). Written on the
	// loop, read by Publish as a hint of whether to compress.
	shared atomic.Int32

	// Loop only.
	subs  []entry
	depth int32 // deliveries in progress (a write may close a connection, whose OnClose may publish)
	holes int32 // entries emptied during a delivery, compacted when it ends
}

// entry is one subscriber in a shard; k is the subscription's index in
// m.subs. An entry with m == nil is a hole left by a removal during a
// delivery.
type entry struct {
	m   *member
	k   int32
	rec uint32 // recMark(offset): messages numbered up to offset were written from history; 0: none
}

// member is one subscribed connection on a loop: its subscriptions, each
// with the index of its entry in the shard (so removal is O(1)).
type member struct {
	c    *engine.Conn
	subs []msub
}

type msub struct {
	sh *shard
	i  int32
}

// mpres is a subscription's presence, kept in loopState.pres (not in
// member or msub) so that subscriptions without presence pay nothing.
type mpres struct {
	sh *shard
	p  *presence
}

// acquire counts a subscription to name on loop, creating the topic and the
// shard as needed, and tells the broker when the topic is new on this node.
// The subscription itself is then made on the loop; if it turns out to be
// redundant, release undoes the count.
func (h *Hub) acquire(loop engine.Loop, name string) (*shard, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	ls := h.loops[loop]
	if ls == nil {
		ls = newLoopState(h, loop)
		h.loops[loop] = ls
	}
	t := h.topics[name]
	if t == nil {
		t = &topic{name: name}
		h.topics[name] = t
	}
	var sh *shard
	if old := t.shards.Load(); old != nil {
		for _, s := range *old {
			if s.ls == ls {
				sh = s
				break
			}
		}
	}
	if sh == nil {
		sh = &shard{t: t, ls: ls}
		var next []*shard
		if old := t.shards.Load(); old != nil {
			next = make([]*shard, 0, len(*old)+1)
			next = append(next, *old...)
		}
		next = append(next, sh)
		t.shards.Store(&next)
	}
	sh.refs++
	t.refs++
	if t.refs == 1 && h.broker != nil && !h.closed {
		h.broker.Subscribe(name)
	}
	return sh, nil
}

// release undoes one acquire. Hub.mu must be held.
func (h *Hub) releaseLocked(sh *shard) {
	t := sh.t
	sh.refs--
	t.refs--
	if sh.refs == 0 {
		old := *t.shards.Load()
		next := make([]*shard, 0, len(old))
		for _, s := range old {
			if s != sh {
				next = append(next, s)
			}
		}
		t.shards.Store(&next)
	}
	if t.refs == 0 {
		delete(h.topics, t.name)
		if h.broker != nil && !h.closed {
			h.broker.Unsubscribe(t.name)
		}
	}
}

func (h *Hub) release(sh *shard) {
	h.mu.Lock()
	h.releaseLocked(sh)
	h.mu.Unlock()
}

// A recovery writes a subscriber's missed messages up to offset `after`
// from the history; deliveries of those messages may still be queued for
// its loop, and it must skip them. They are at most the loop's queue bound
// behind `after` (far fewer than 2^30), and once a delivery past `after`
// arrives none at or below it follows (a topic's deliveries are queued in
// offset order). So the entry keeps only `after`'s low 31 bits with a flag
// bit, in what would be padding, compares modulo 2^31, and clears the mark
// at the first delivery past it.
const recFlag = 1 << 31

// recMark marks offset after; recMark(0) is a mark too (nothing before 1).
func recMark(after uint64) uint32 { return uint32(after)&(recFlag-1) | recFlag }

// recCovers reports whether off is at or below the offset marked in rec.
func recCovers(rec uint32, off uint64) bool {
	d := (uint32(off) - rec) & (recFlag - 1)
	return d == 0 || d >= 1<<30
}
