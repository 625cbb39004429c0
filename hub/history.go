package hub

import (
	"errors"
	"path"
	"sync"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
)

// Defaults for history.
const (
	DefaultHistorySize     = 100
	DefaultHistoryTTL      = 5 * time.Minute
	DefaultMaxHistoryBytes = 64 << 20
	// historyEntryOverhead is what the hub counts for one history entry on
	// top of its frame's bytes: the entry in the stream's slice (24 B) and
	// the frame's allocation rounding and header (measured by
	// BenchmarkHistoryMemory).
	historyEntryOverhead = 48
	// streamOverhead is what the hub counts for a topic's stream itself.
	streamOverhead = 256
)

// HistoryRule turns history on for the topics whose name matches Pattern
// (path.Match syntax: "room.*", "chat/*", or an exact name). The first
// matching rule of Config.History applies.
type HistoryRule struct {
	Pattern string
	// Size bounds the messages kept per topic (default DefaultHistorySize).
	Size int
	// TTL bounds their age (default DefaultHistoryTTL): an older message is
	// no longer recoverable. A topic's stream (its epoch and last offset)
	// is dropped once it has had no message for TTL and no subscriber, so
	// a client coming back later is told its position is gone.
	TTL time.Duration
}

func (r HistoryRule) size() int           { return max(r.Size, 0) }
func (r HistoryRule) ttl() time.Duration  { return r.TTL }
func (r HistoryRule) match(t string) bool { ok, _ := path.Match(r.Pattern, t); return ok }

func checkRules(rules []HistoryRule) ([]HistoryRule, error) {
	out := make([]HistoryRule, len(rules))
	for i, r := range rules {
		if _, err := path.Match(r.Pattern, ""); err != nil {
			return nil, errors.New("hub: bad history pattern " + r.Pattern)
		}
		if r.Size < 0 || r.TTL < 0 {
			return nil, errors.New("hub: negative history bound")
		}
		if r.Size == 0 {
			r.Size = DefaultHistorySize
		}
		if r.TTL == 0 {
			r.TTL = DefaultHistoryTTL
		}
		out[i] = r
	}
	return out, nil
}

// rule returns the history rule for topic, or nil.
func (h *Hub) rule(topic string) *HistoryRule {
	for i := range h.rules {
		if h.rules[i].match(topic) {
			return &h.rules[i]
		}
	}
	return nil
}

// stream is one topic's history on this node: all of it (in memory), or
// the recent part a HistoryBroker delivered (a cache of the broker's).
// Offsets (first, top] ... entries hold offsets first..top with no gap.
type stream struct {
	name string
	rule *HistoryRule

	mu     sync.Mutex
	epoch  string
	top    uint64 // last offset assigned (memory) or delivered (broker)
	first  uint64 // oldest offset held; first == top+1 when none
	ents   []hentry
	head   int   // ents[head:] are live
	bytes  int64 // counted against Hub.maxHistoryBytes
	active int64 // unix nanos of the last publish or subscription

	// Broker streams only.
	synced  bool          // the broker told us its position (Sync)
	waiting []*recoverReq // recoveries parked until synced
}

type hentry struct {
	off uint64
	at  int64 // unix nanos
	f   *codec.PreparedFrame
	zf  *codec.PreparedFrame // compressed form, or nil
}

func (e *hentry) size() int64 {
	n := int64(len(e.f.Bytes())) + historyEntryOverhead
	if e.zf != nil {
		n += int64(len(e.zf.Bytes())) + historyEntryOverhead/2
	}
	return n
}

// streamOf returns topic's stream, creating it when the topic has history;
// nil when it has none.
func (h *Hub) streamOf(topic string) *stream {
	h.smu.RLock()
	s := h.streams[topic]
	h.smu.RUnlock()
	if s != nil {
		return s
	}
	r := h.rule(topic)
	if r == nil {
		return nil
	}
	h.smu.Lock()
	defer h.smu.Unlock()
	if s = h.streams[topic]; s == nil {
		s = &stream{name: topic, rule: r, epoch: newEpoch(), first: 1, synced: h.hbroker == nil}
		s.active = time.Now().UnixNano()
		h.streams[topic] = s
		h.histBytes.Add(streamOverhead)
	}
	return s
}

// append adds an entry at offset e.off == s.top+1 and trims the stream to
// its rule and the hub's memory bound. s.mu is held.
func (h *Hub) appendLocked(s *stream, e hentry) {
	s.top = e.off
	s.active = e.at
	h.trimLocked(s, e.at)
	size := e.size()
	for s.head < len(s.ents) && (len(s.ents)-s.head >= s.rule.Size || h.histBytes.Load()+size > h.maxHistoryBytes) {
		if len(s.ents)-s.head < s.rule.Size {
			h.histEvicted.Add(1)
		}
		s.dropOldest(h)
	}
	if h.histBytes.Load()+size > h.maxHistoryBytes {
		// Nothing of this topic left to evict: the message is not kept.
		h.histEvicted.Add(1)
		s.first = e.off + 1
		return
	}
	if s.head == len(s.ents) {
		s.first = e.off
	}
	s.ents = append(s.ents, e)
	s.bytes += size
	h.histBytes.Add(size)
}

// trimLocked drops the entries older than the rule's TTL.
func (h *Hub) trimLocked(s *stream, now int64) {
	cut := now - int64(s.rule.TTL)
	for s.head < len(s.ents) && s.ents[s.head].at < cut {
		s.dropOldest(h)
	}
}

func (s *stream) dropOldest(h *Hub) {
	e := &s.ents[s.head]
	n := e.size()
	s.bytes -= n
	h.histBytes.Add(-n)
	s.first = e.off + 1
	*e = hentry{}
	s.head++
	if s.head == len(s.ents) {
		s.ents, s.head = s.ents[:0], 0
	} else if s.head >= 64 && s.head*2 >= len(s.ents) {
		n := copy(s.ents, s.ents[s.head:])
		clear(s.ents[n:])
		s.ents, s.head = s.ents[:n], 0
	}
}

// resetLocked empties s and starts it again under epoch at offset top.
func (h *Hub) resetLocked(s *stream, epoch string, top uint64) {
	for s.head < len(s.ents) {
		s.dropOldest(h)
	}
	s.epoch, s.top, s.first = epoch, top, top+1
}

// since returns the entries after off, which s must cover.
func (s *stream) since(off uint64) []hentry {
	if off >= s.top || s.head == len(s.ents) {
		return nil
	}
	i := s.head + int(off+1-s.first)
	if off+1 < s.first {
		i = s.head
	}
	return s.ents[i:]
}

// covers reports whether s can replay everything after p.
func (s *stream) covers(p Position) bool {
	return p.Epoch == s.epoch && p.Offset <= s.top && p.Offset+1 >= s.first
}

// ExpireHistory drops history entries older than their rule's TTL, and the
// streams of topics that have had no message and no subscriber for as long
// (their positions are gone: a client coming back is told so). The hub
// also trims a topic's history whenever it publishes to it; call
// ExpireHistory now and then (every minute, say) to give back the memory
// of topics that went quiet.
func (h *Hub) ExpireHistory() {
	now := time.Now().UnixNano()
	h.smu.RLock()
	all := make([]*stream, 0, len(h.streams))
	for _, s := range h.streams {
		all = append(all, s)
	}
	h.smu.RUnlock()
	for _, s := range all {
		s.mu.Lock()
		h.trimLocked(s, now)
		idle := s.head == len(s.ents) && now-s.active > int64(s.rule.TTL) && len(s.waiting) == 0
		s.mu.Unlock()
		if idle && h.Subscribers(s.name) == 0 {
			h.smu.Lock()
			if h.streams[s.name] == s {
				delete(h.streams, s.name)
				h.histBytes.Add(-streamOverhead)
			}
			h.smu.Unlock()
		}
	}
}

// HistoryStats is a snapshot of the hub's history.
type HistoryStats struct {
	Streams  int    // topics with a stream on this node
	Entries  int    // messages held
	Bytes    int64  // bytes counted against Config.MaxHistoryBytes
	Evicted  uint64 // entries dropped early (or not kept) for the memory bound
	Replayed uint64 // messages delivered from history by recoveries
	Recovery uint64 // recoveries that succeeded
	Failed   uint64 // recoveries that could not recover (too old, epoch changed)
	Lost     uint64 // reports to live subscribers of messages the hub could not deliver
}

// History returns the hub's history counters.
func (h *Hub) History() HistoryStats {
	h.smu.RLock()
	all := make([]*stream, 0, len(h.streams))
	for _, s := range h.streams {
		all = append(all, s)
	}
	h.smu.RUnlock()
	st := HistoryStats{Streams: len(all)}
	for _, s := range all {
		s.mu.Lock()
		st.Entries += len(s.ents) - s.head
		s.mu.Unlock()
	}
	st.Bytes = h.histBytes.Load()
	st.Evicted = h.histEvicted.Load()
	st.Replayed = h.replayed.Load()
	st.Recovery = h.recovered.Load()
	st.Failed = h.recoverFailed.Load()
	st.Lost = h.lostReports.Load()
	return st
}

// Position returns topic's current position (the last message's) and
// false when the topic has no history or no stream on this node yet.
func (h *Hub) Position(topic string) (Position, bool) {
	h.smu.RLock()
	s := h.streams[topic]
	h.smu.RUnlock()
	if s == nil {
		return Position{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.synced {
		return Position{}, false
	}
	return Position{Offset: s.top, Epoch: s.epoch}, true
}
