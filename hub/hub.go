package hub

import (
	"cmp"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/switchboard-ws/switchboard/engine"
)

// Defaults for the bounds on the work queued for one event loop.
const (
	DefaultMaxQueued      = 4096
	DefaultMaxQueuedBytes = 64 << 20
)

// Errors returned by the hub.
var (
	ErrHubClosed   = errors.New("hub: closed")
	ErrMessageType = errors.New("hub: message type must be engine.Text or engine.Binary")
)

// Config configures a Hub. The zero value is ready to use.
type Config struct {
	// Broker carries publishes to other nodes and theirs to this one. nil:
	// messages stay on this node. See Bus (hubs in one process) and package
	// redisbroker (hubs on many nodes).
	Broker Broker
	// MaxQueued bounds, per event loop, the publishes handed to the loop
	// from other goroutines and not yet written; MaxQueuedBytes bounds their
	// frames' bytes. A loop gets that far behind only when its CPU cannot
	// keep up with the publish rate: a publish past either bound is dropped
	// for that loop's subscribers and counted in Overflows (Publish never
	// blocks). 0: DefaultMaxQueued, DefaultMaxQueuedBytes.
	MaxQueued      int
	MaxQueuedBytes int

	// History turns on history (and positions) for the topics that match
	// one of its rules: their messages are numbered and the last ones kept,
	// so a subscriber coming back with its last Position gets what it
	// missed (SubscribeOptions.Since). Kept in this process's memory, or by
	// the broker when it is a HistoryBroker (redisbroker with History on),
	// shared by every node.
	History []HistoryRule
	// MaxHistoryBytes bounds the memory of the history this hub keeps, all
	// topics together (frames plus a fixed overhead per entry and per
	// topic). Past it a
	// topic's oldest entries are dropped first, and a message is not kept
	// when its topic has none left to drop; HistoryStats.Evicted counts
	// both. 0: DefaultMaxHistoryBytes.
	MaxHistoryBytes int64
	// Envelope, when set, makes the message every subscriber receives out
	// of the published payload and its position (zero for topics without
	// history): it appends to dst and returns it, like strconv.Append*.
	// It runs once per publish (per node), on the publisher's goroutine or
	// the broker's, and must be quick and keep text valid UTF-8.
	Envelope func(dst []byte, topic string, pos Position, payload []byte) []byte
	// OnRecovery is called on a subscriber's event loop, before any
	// message, when a subscription made with SubscribeOptions.Since takes
	// effect, and later whenever a live subscriber missed messages the hub
	// cannot replay (Recovered false): the place to tell the client, e.g.
	// with c.WriteText. nil: nobody is told.
	OnRecovery func(c *engine.Conn, topic string, r Recovery)
	// PresenceEvent, when set, turns on join and leave events: for each
	// change of a topic's presence (subscriptions made with
	// SubscribeOptions.Info) it makes the text message the topic's
	// subscribers receive, on every node (nil: none for this one). It runs
	// once per event, on the goroutine that made the change or the
	// broker's.
	PresenceEvent func(dst []byte, topic string, ev PresenceEvent) []byte
}

// Hub keeps topics (rooms) of connections on this node and publishes to
// them. Its methods are safe from any goroutine, event loops included; none
// of them blocks.
type Hub struct {
	broker         Broker
	maxQueued      int
	maxQueuedBytes int64

	// mu guards the topic registry: which topics exist, on which loops each
	// has subscribers, and the reference counts that decide when a topic
	// comes and goes. It is never held while writing to connections.
	mu     sync.RWMutex
	topics map[string]*topic
	loops  map[engine.Loop]*loopState
	closed bool

	rules           []HistoryRule
	maxHistoryBytes int64
	envelope        func(dst []byte, topic string, pos Position, payload []byte) []byte
	onRecovery      func(c *engine.Conn, topic string, r Recovery)
	hbroker         HistoryBroker // broker when it keeps history, or nil
	pbroker         PresenceBroker
	presenceFmt     func(dst []byte, topic string, ev PresenceEvent) []byte
	pres            *presenceState

	// smu guards streams, the topics' histories. Lock order: stream.mu,
	// then mu.
	smu     sync.RWMutex
	streams map[string]*stream

	histBytes     atomic.Int64
	histEvicted   atomic.Uint64
	replayed      atomic.Uint64
	recovered     atomic.Uint64
	recoverFailed atomic.Uint64
	lostReports   atomic.Uint64

	published atomic.Uint64
	received  atomic.Uint64
	delivered atomic.Uint64
	dropped   atomic.Uint64
	overflows atomic.Uint64

	// permessage-deflate: publishes compressed once (compressShared),
	// their payload bytes before and after, and frames written compressed.
	compressed, compressedIn, compressedOut atomic.Uint64
	deliveredZ                              atomic.Uint64
}

// New returns a hub. When cfg.Broker is set, New attaches the hub to it; the
// hub then owns the broker and Close closes it.
func New(cfg Config) (*Hub, error) {
	if cfg.MaxQueued < 0 || cfg.MaxQueuedBytes < 0 || cfg.MaxHistoryBytes < 0 {
		return nil, errors.New("hub: queue bounds must not be negative")
	}
	rules, err := checkRules(cfg.History)
	if err != nil {
		return nil, err
	}
	h := &Hub{
		rules:           rules,
		maxHistoryBytes: cmp.Or(cfg.MaxHistoryBytes, DefaultMaxHistoryBytes),
		envelope:        cfg.Envelope,
		onRecovery:      cfg.OnRecovery,
		presenceFmt:     cfg.PresenceEvent,
		pres:            newPresenceState(),
		streams:         make(map[string]*stream),
		broker:          cfg.Broker,
		maxQueued:       cmp.Or(cfg.MaxQueued, DefaultMaxQueued),
		maxQueuedBytes:  int64(cmp.Or(cfg.MaxQueuedBytes, DefaultMaxQueuedBytes)),
		topics:          make(map[string]*topic),
		loops:           make(map[engine.Loop]*loopState),
	}
	if hb, ok := h.broker.(HistoryBroker); ok && len(rules) > 0 {
		h.hbroker = hb
		if err := hb.AttachStreams(streamSink{h}, func(topic string) (HistoryRule, bool) {
			if r := h.rule(topic); r != nil {
				return *r, true
			}
			return HistoryRule{}, false
		}); err != nil {
			return nil, err
		}
	}
	if pb, ok := h.broker.(PresenceBroker); ok {
		h.pbroker = pb
		if err := pb.AttachPresence(presenceSink{h}); err != nil {
			return nil, err
		}
	}
	if h.broker != nil {
		if err := h.broker.Attach(h.deliverRemote); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Close detaches the hub from its broker and closes the broker. Later
// Subscribe and Publish calls return ErrHubClosed; subscriptions already
// made stay until their connections close.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	if h.broker != nil {
		return h.broker.Close()
	}
	return nil
}

// Handler wraps the application's handler so that a closing connection
// leaves every topic before next.OnClose runs. Pass its result to
// engine.New: it is the one step that keeps subscriptions from outliving
// their connections.
//
//	h, _ := hub.New(hub.Config{})
//	srv, _ := engine.New(cfg, h.Handler(app))
//
// (Without it, a closed subscriber is still removed when a publish finds it
// closed, but presence counts stay high until then.)
func (h *Hub) Handler(next engine.Handler) engine.Handler {
	if next == nil {
		next = engine.Handlers{}
	}
	return handler{h: h, next: next}
}

type handler struct {
	h    *Hub
	next engine.Handler
}

func (w handler) OnOpen(c *engine.Conn) { w.next.OnOpen(c) }
func (w handler) OnMessage(c *engine.Conn, typ engine.MessageType, data []byte) {
	w.next.OnMessage(c, typ, data)
}
func (w handler) OnClose(c *engine.Conn, err error) {
	w.h.UnsubscribeAll(c)
	w.next.OnClose(c, err)
}

// Subscribe adds c to topic. On c's event loop (inside a Handler callback)
// it takes effect at once, unless work handed to the loop earlier is still
// pending; otherwise it is handed to the loop, behind that work. Either way
// every Publish that starts after Subscribe returns reaches c, and
// subscription changes take effect in the order they were made.
// Subscribing twice is a no-op; subscribing a closed connection does
// nothing.
func (h *Hub) Subscribe(c *engine.Conn, topic string) error {
	if c.Closed() {
		return engine.ErrClosed
	}
	sh, err := h.acquire(c.Loop(), topic)
	if err != nil {
		return err
	}
	sh.ls.run(item{op: opSubscribe, sh: sh, c: c})
	return nil
}

// subscribeInfo is Subscribe as a member of topic's presence.
func (h *Hub) subscribeInfo(c *engine.Conn, topic string, p *presence) error {
	if c.Closed() {
		return engine.ErrClosed
	}
	sh, err := h.acquire(c.Loop(), topic)
	if err != nil {
		return err
	}
	sh.ls.run(item{op: opSubscribe, sh: sh, c: c, req: &recoverReq{pres: p}})
	return nil
}

// Unsubscribe removes c from topic (on c's loop, like Subscribe).
func (h *Hub) Unsubscribe(c *engine.Conn, topic string) {
	ls := h.loopStateOf(c.Loop())
	if ls == nil {
		return
	}
	ls.run(item{op: opUnsubscribe, c: c, topic: topic})
}

// UnsubscribeAll removes c from every topic. The wrapper returned by
// Handler calls it when c closes.
func (h *Hub) UnsubscribeAll(c *engine.Conn) {
	ls := h.loopStateOf(c.Loop())
	if ls == nil {
		return
	}
	ls.run(item{op: opUnsubscribeAll, c: c})
}

// Subscribers returns the number of this node's connections subscribed to
// topic: a subscription counts from the moment Subscribe returns until it is
// removed.
func (h *Hub) Subscribers(topic string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if t := h.topics[topic]; t != nil {
		return t.refs
	}
	return 0
}

// Topics returns, sorted, the topics that have subscribers on this node.
func (h *Hub) Topics() []string {
	h.mu.RLock()
	names := make([]string, 0, len(h.topics))
	for name := range h.topics {
		names = append(names, name)
	}
	h.mu.RUnlock()
	slices.Sort(names)
	return names
}

// loopStateOf returns the hub's state for loop, or nil if no connection of
// that loop ever subscribed.
func (h *Hub) loopStateOf(loop engine.Loop) *loopState {
	h.mu.RLock()
	ls := h.loops[loop]
	h.mu.RUnlock()
	return ls
}
