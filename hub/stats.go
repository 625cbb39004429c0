package hub

// Stats is a snapshot of a hub's counters.
type Stats struct {
	Topics        int    // topics with subscribers on this node
	Subscriptions int    // subscriptions on this node, all topics
	Published     uint64 // Publish calls on this node
	Received      uint64 // messages from other nodes, through the broker
	Delivered     uint64 // frames written to subscribers
	Dropped       uint64 // subscriber copies not written: outbound limit reached, or subscriber closed
	Overflows     uint64 // (publish, loop) pairs dropped because the loop's queue was full

	// permessage-deflate (engine.Config.Deflate): publishes compressed
	// once for the subscribers that take a shared compressed frame
	// (engine.Conn.SharedDeflate), their payload bytes before and after
	// compression, and how many of Delivered went out compressed.
	Compressed          uint64
	CompressedBytesIn   uint64
	CompressedBytesOut  uint64
	DeliveredCompressed uint64
}

// TopicStats is a snapshot of one topic's counters on this node. They start
// when the topic gets its first local subscriber and end with its last.
type TopicStats struct {
	Subscribers int
	Published   uint64 // Publish calls on this node
	Delivered   uint64 // frames written to subscribers
	Dropped     uint64 // subscriber copies not written (see Stats.Dropped)
	Overflows   uint64 // loops that missed a publish (see Stats.Overflows)
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	st := Stats{Topics: len(h.topics)}
	for _, t := range h.topics {
		st.Subscriptions += t.refs
	}
	h.mu.RUnlock()
	st.Published = h.published.Load()
	st.Received = h.received.Load()
	st.Delivered = h.delivered.Load()
	st.Dropped = h.dropped.Load()
	st.Overflows = h.overflows.Load()
	st.Compressed = h.compressed.Load()
	st.CompressedBytesIn = h.compressedIn.Load()
	st.CompressedBytesOut = h.compressedOut.Load()
	st.DeliveredCompressed = h.deliveredZ.Load()
	return st
}

// Topic returns topic's counters, and false when it has no subscribers on
// this node.
func (h *Hub) Topic(topic string) (TopicStats, bool) {
	h.mu.RLock()
	t := h.topics[topic]
	var st TopicStats
	if t != nil {
		st.Subscribers = t.refs
	}
	h.mu.RUnlock()
	if t == nil {
		return st, false
	}
	st.Published = t.published.Load()
	st.Delivered = t.delivered.Load()
	st.Dropped = t.dropped.Load()
	st.Overflows = t.overflows.Load()
	return st, true
}
