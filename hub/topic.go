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
	m     *member
	k     int32
	after uint64 // messages numbered at most this were written from history
}

// member is one subscribed connection on a loop: its subscriptions, each
// with the index of its entry in the shard (so removal is O(1)).
type member struct {
	c    *engine.Conn
	subs []msub
	pres []mpres // subscriptions with presence, usually none
}

// takePres removes and returns the presence of m's subscription to sh.
func (m *member) takePres(sh *shard) *presence {
	for i, x := range m.pres {
		if x.sh == sh {
			last := len(m.pres) - 1
			m.pres[i] = m.pres[last]
			m.pres[last] = mpres{}
			m.pres = m.pres[:last]
			return x.p
		}
	}
	return nil
}

type msub struct {
	sh *shard
	i  int32
}

// mpres is a subscription's presence, kept apart from msub so that
// subscriptions without presence pay nothing for it.
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
