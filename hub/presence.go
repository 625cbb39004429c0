package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
)

// Member is one subscription in a topic's presence: an ID the hub gives it
// (unique across nodes) and the Info set at subscribe time
// (SubscribeOptions.Info), e.g. a user's id and name as JSON.
type Member struct {
	ID   string
	Info []byte
}

// PresenceKind says what a PresenceEvent is.
type PresenceKind uint8

const (
	// Join: Member subscribed.
	Join PresenceKind = iota + 1
	// Leave: Member unsubscribed or closed.
	Leave
	// Snapshot: members vanished without leaving (their node died and
	// their entries expired); Members is the topic's presence now. One
	// such event replaces what would be a leave per vanished member.
	Snapshot
)

// PresenceEvent is a change of a topic's presence (Config.PresenceEvent).
type PresenceEvent struct {
	Kind    PresenceKind
	Member  Member   // Join, Leave
	Members []Member // Snapshot
}

// PresenceBroker is a Broker that keeps presence across nodes (package
// redisbroker does, in Redis, with entries that expire when their node
// stops refreshing them). Its methods other than Members and MemberCount
// must not block.
type PresenceBroker interface {
	Broker
	// AttachPresence is called once, by New.
	AttachPresence(sink PresenceSink) error
	AddMember(topic string, m Member)
	RemoveMember(topic string, id string)
	// Members and MemberCount read the presence of every node; they block.
	Members(ctx context.Context, topic string) ([]Member, error)
	MemberCount(ctx context.Context, topic string) (int, error)
	// PublishEvent sends a presence event's message to the other nodes,
	// which hand it to PresenceSink.DeliverEvent.
	PublishEvent(topic string, payload []byte) error
}

// PresenceSink is how a PresenceBroker reaches the hub.
type PresenceSink interface {
	// DeliverEvent hands over another node's presence event message, for
	// this node's subscribers of topic.
	DeliverEvent(topic string, payload []byte)
	// Expired says that members of topic vanished (their entries expired)
	// and what its presence is now; the hub sends one Snapshot event to the
	// topic's subscribers on every node.
	Expired(topic string, now []Member)
}

// presence is the hub's local record of presence, by topic.
type presenceState struct {
	prefix string
	seq    atomic.Uint64

	mu     sync.Mutex
	topics map[string]map[string][]byte // topic -> member ID -> info
}

// member presence of one subscription (msub.pres).
type presence struct {
	id   string
	info []byte
}

func newPresenceState() *presenceState {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &presenceState{prefix: hex.EncodeToString(b[:]) + "-", topics: make(map[string]map[string][]byte)}
}

// newPresence gives a subscription with info its member ID.
func (h *Hub) newPresence(info []byte) *presence {
	if info == nil {
		return nil
	}
	return &presence{id: h.pres.prefix + strconv.FormatUint(h.pres.seq.Add(1), 36), info: slices.Clone(info)}
}

// joined records p in topic's presence and tells the others (on the loop
// that added the subscription; no hub lock held).
func (h *Hub) joined(topic string, p *presence) {
	ps := h.pres
	ps.mu.Lock()
	m := ps.topics[topic]
	if m == nil {
		m = make(map[string][]byte)
		ps.topics[topic] = m
	}
	m[p.id] = p.info
	ps.mu.Unlock()
	if h.pbroker != nil {
		h.pbroker.AddMember(topic, Member{ID: p.id, Info: p.info})
	}
	h.presenceEvent(topic, PresenceEvent{Kind: Join, Member: Member{ID: p.id, Info: p.info}})
}

// left undoes joined.
func (h *Hub) left(topic string, p *presence) {
	ps := h.pres
	ps.mu.Lock()
	if m := ps.topics[topic]; m != nil {
		delete(m, p.id)
		if len(m) == 0 {
			delete(ps.topics, topic)
		}
	}
	ps.mu.Unlock()
	if h.pbroker != nil {
		h.pbroker.RemoveMember(topic, p.id)
	}
	h.presenceEvent(topic, PresenceEvent{Kind: Leave, Member: Member{ID: p.id, Info: p.info}})
}

// presenceEvent sends ev's message (Config.PresenceEvent) to topic's
// subscribers here and, through the broker, on the other nodes. It is not
// numbered, not kept in history, and not passed through Config.Envelope.
func (h *Hub) presenceEvent(topic string, ev PresenceEvent) {
	if h.presenceFmt == nil {
		return
	}
	payload := h.presenceFmt(nil, topic, ev)
	if payload == nil {
		return
	}
	h.deliverEvent(topic, payload)
	if h.pbroker != nil {
		_ = h.pbroker.PublishEvent(topic, payload)
	}
}

// deliverEvent writes an event's message to this node's subscribers.
func (h *Hub) deliverEvent(topic string, payload []byte) {
	h.mu.RLock()
	t := h.topics[topic]
	h.mu.RUnlock()
	if t == nil {
		return
	}
	p := t.shards.Load()
	if p == nil || len(*p) == 0 {
		return
	}
	h.handOut(t, *p, codec.NewPreparedFrame(codec.OpText, payload), nil, 0, false)
}

// localMembers is this node's part of topic's presence.
func (h *Hub) localMembers(topic string) []Member {
	ps := h.pres
	ps.mu.Lock()
	defer ps.mu.Unlock()
	m := ps.topics[topic]
	out := make([]Member, 0, len(m))
	for id, info := range m {
		out = append(out, Member{ID: id, Info: info})
	}
	slices.SortFunc(out, func(a, b Member) int { return cmpString(a.ID, b.ID) })
	return out
}

// Presence returns topic's members on every node (through a
// PresenceBroker), or on this node with any other broker. With a
// PresenceBroker it blocks for a round trip: call it off the event loops,
// or use PresenceAsync.
func (h *Hub) Presence(ctx context.Context, topic string) ([]Member, error) {
	if h.pbroker != nil {
		ms, err := h.pbroker.Members(ctx, topic)
		if err != nil {
			return nil, err
		}
		return h.withLocal(topic, ms), nil
	}
	return h.localMembers(topic), nil
}

// withLocal adds to ms this node's members the broker did not list yet
// (their write to it may still be on its way), sorted by ID.
func (h *Hub) withLocal(topic string, ms []Member) []Member {
	seen := make(map[string]bool, len(ms))
	for _, m := range ms {
		seen[m.ID] = true
	}
	for _, m := range h.localMembers(topic) {
		if !seen[m.ID] {
			ms = append(ms, m)
		}
	}
	slices.SortFunc(ms, func(a, b Member) int { return cmpString(a.ID, b.ID) })
	return ms
}

// PresenceAsync is Presence without blocking: done is called once, on
// another goroutine when the presence is read from the broker.
func (h *Hub) PresenceAsync(topic string, done func([]Member, error)) {
	if h.pbroker == nil {
		done(h.localMembers(topic), nil)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), presenceTimeout)
		defer cancel()
		done(h.Presence(ctx, topic))
	}()
}

// PresenceCount returns the number of topic's members on every node: one
// cheap read with a PresenceBroker (it blocks for it), a map lookup
// otherwise.
func (h *Hub) PresenceCount(ctx context.Context, topic string) (int, error) {
	if h.pbroker != nil {
		return h.pbroker.MemberCount(ctx, topic)
	}
	h.pres.mu.Lock()
	defer h.pres.mu.Unlock()
	return len(h.pres.topics[topic]), nil
}

// presenceSink is the hub's side of a PresenceBroker.
type presenceSink struct{ h *Hub }

func (k presenceSink) DeliverEvent(topic string, payload []byte) { k.h.deliverEvent(topic, payload) }

func (k presenceSink) Expired(topic string, now []Member) {
	k.h.presenceEvent(topic, PresenceEvent{Kind: Snapshot, Members: now})
}

// presenceTimeout bounds PresenceAsync's read.
const presenceTimeout = 5 * time.Second

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
