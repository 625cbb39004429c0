package hub

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/switchboard-ws/switchboard/engine"
)

// DeliverFunc hands a message published on another node to this node's
// subscribers. payload is valid only during the call (the hub copies it
// into the frame it encodes). It does not block.
type DeliverFunc func(topic string, typ engine.MessageType, payload []byte)

// Broker carries messages between the hubs of several nodes. A hub uses one
// Broker value, its link to the others.
//
// The hub calls Subscribe when a topic gets its first subscriber on this
// node and Unsubscribe when its last one leaves, so a broker need only
// bring a node the topics it has subscribers for. Publish is called for
// every local publish, after the local subscribers were served: the broker
// sends the message to the other nodes and must not deliver it back to
// this one. Subscribe, Unsubscribe and Publish run on event loops, and
// Subscribe and Unsubscribe with the hub's lock held: they must not block
// and must not call into the hub. Publish must not keep payload after it
// returns.
//
// A broker calls the DeliverFunc it was attached with for each message
// from another node, from one goroutine at a time in the order the messages
// were published, to keep a publisher's order.
type Broker interface {
	// Attach is called once, by New, before any other method.
	Attach(deliver DeliverFunc) error
	Publish(topic string, typ engine.MessageType, payload []byte) error
	Subscribe(topic string)
	Unsubscribe(topic string)
	// Close stops the broker: it delivers nothing more once calls under
	// way have returned.
	Close() error
}

// ErrAttached is returned when a broker is attached to a second hub.
var ErrAttached = errors.New("hub: broker already attached to a hub")

// Bus connects hubs in one process, as if each were a node: a message
// published on one hub reaches the subscribers of every hub on the bus,
// once. It delivers synchronously and loses nothing. Use it to run several
// servers in one process (one per port or per network), and to test code
// written for a multi-node broker.
type Bus struct {
	mu     sync.Mutex
	topics map[string]*busTopic
}

type busTopic struct {
	nodes atomic.Pointer[[]*busNode] // replaced whole under Bus.mu
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{topics: make(map[string]*busTopic)} }

// Broker returns a new link to the bus for one hub (Config.Broker).
func (b *Bus) Broker() Broker { return &busNode{bus: b} }

type busNode struct {
	bus     *Bus
	deliver atomic.Pointer[DeliverFunc]
	closed  atomic.Bool

	mu     sync.Mutex // guards topics
	topics map[string]struct{}
}

func (n *busNode) Attach(deliver DeliverFunc) error {
	if !n.deliver.CompareAndSwap(nil, &deliver) {
		return ErrAttached
	}
	return nil
}

func (n *busNode) Publish(topic string, typ engine.MessageType, payload []byte) error {
	if n.closed.Load() {
		return ErrHubClosed
	}
	n.bus.mu.Lock()
	bt := n.bus.topics[topic]
	n.bus.mu.Unlock()
	if bt == nil {
		return nil
	}
	for _, peer := range *bt.nodes.Load() {
		if peer == n || peer.closed.Load() {
			continue
		}
		if d := peer.deliver.Load(); d != nil {
			(*d)(topic, typ, payload)
		}
	}
	return nil
}

func (n *busNode) Subscribe(topic string) {
	if n.closed.Load() {
		return
	}
	n.mu.Lock()
	if n.topics == nil {
		n.topics = make(map[string]struct{})
	}
	n.topics[topic] = struct{}{}
	n.mu.Unlock()
	b := n.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	bt := b.topics[topic]
	if bt == nil {
		bt = &busTopic{}
		empty := []*busNode{}
		bt.nodes.Store(&empty)
		b.topics[topic] = bt
	}
	old := *bt.nodes.Load()
	for _, p := range old {
		if p == n {
			return
		}
	}
	next := append(append(make([]*busNode, 0, len(old)+1), old...), n)
	bt.nodes.Store(&next)
}

func (n *busNode) Unsubscribe(topic string) {
	n.mu.Lock()
	delete(n.topics, topic)
	n.mu.Unlock()
	n.bus.unsubscribe(n, topic)
}

func (b *Bus) unsubscribe(n *busNode, topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bt := b.topics[topic]
	if bt == nil {
		return
	}
	old := *bt.nodes.Load()
	next := make([]*busNode, 0, len(old))
	for _, p := range old {
		if p != n {
			next = append(next, p)
		}
	}
	if len(next) == 0 {
		delete(b.topics, topic)
	}
	bt.nodes.Store(&next)
}

func (n *busNode) Close() error {
	if n.closed.Swap(true) {
		return nil
	}
	n.mu.Lock()
	topics := n.topics
	n.topics = nil
	n.mu.Unlock()
	for topic := range topics {
		n.bus.unsubscribe(n, topic)
	}
	return nil
}

// HistoryBroker is a Broker that keeps the history of topics itself,
// shared by every node, and numbers their messages (package redisbroker
// does, over Redis Streams). A hub whose Config.History has rules uses it
// for those topics: their publishes go through Append, and every node,
// the publishing one included, delivers them when the broker hands them
// back with their position, so all nodes see the same offsets.
type HistoryBroker interface {
	Broker
	// AttachStreams is called once, by New, before Attach. rule tells
	// which topics have history, and its bounds.
	AttachStreams(sink StreamSink, rule func(topic string) (HistoryRule, bool)) error
	// Append queues a message of a topic with history and returns at once.
	// The broker numbers it and delivers it to every node, this one
	// included, through StreamSink.Deliver; if it cannot (Redis
	// unreachable), it hands it back with a zero Position so that this
	// node's subscribers still get it. done, when not nil, is called once,
	// from another goroutine, with the message's position, or with an
	// error when it was not numbered.
	Append(topic string, rule HistoryRule, typ engine.MessageType, payload []byte, done func(Position, error)) error
	// Fetch reads topic's history after offset after, without blocking:
	// done is called once, from another goroutine.
	Fetch(topic string, rule HistoryRule, after uint64, done func(FetchResult))
}

// StreamSink is how a HistoryBroker hands a hub the messages of topics
// with history. Its methods may block briefly on the hub's locks, never on
// I/O.
type StreamSink interface {
	// Deliver hands over one message. For each topic the broker delivers
	// messages in offset order with no gap (it fills gaps from the
	// history) and no duplicate. pos is zero for a message of this node's
	// that could not reach the broker: delivered here only, unnumbered.
	Deliver(topic string, typ engine.MessageType, payload []byte, pos Position)
	// Sync tells the hub where topic's stream stands: once when this node
	// starts receiving the topic, and again when the broker knows it
	// skipped messages it cannot deliver (lost: history trimmed, or a new
	// epoch after the broker's data was lost). The hub tells the topic's
	// live subscribers (Config.OnRecovery) when lost or when the epoch
	// changed.
	Sync(topic string, pos Position, lost bool)
	// Position returns where topic's stream stands on this node, as
	// Hub.Position does (false: no stream, or not synced yet). A broker
	// asks it when a message could not reach the others (see
	// HistoryEntry.Lost), to tell later whether the stream it reported the
	// loss in is still the same one.
	Position(topic string) (Position, bool)
}

// FetchResult is what HistoryBroker.Fetch read.
type FetchResult struct {
	Entries []HistoryEntry // in offset order, with no gap, after the offset asked for (loss markers included)
	Epoch   string         // the stream's epoch
	Top     uint64         // the stream's last offset when read
	First   uint64         // its oldest offset still held (Top+1 when none)
	Err     error
}

// HistoryEntry is one message of a topic's history, or a loss marker.
type HistoryEntry struct {
	Offset  uint64
	Type    engine.MessageType
	Payload []byte
	// Lost marks a loss marker instead of a message: a node delivered
	// messages of the topic to its own subscribers only (the broker could
	// not take them) and says so at this offset once the broker is back.
	// Messages published around it are missing from the history, so a
	// recovery from before it is not complete (Recovered false). A broker
	// that meets one live tells the topic's subscribers with Sync(topic,
	// Position{Offset, epoch}, true).
	Lost bool
}
