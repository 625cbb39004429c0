package hub

import (
	"sync"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// Publish sends payload as one message of type typ (engine.Text or
// engine.Binary) to every subscriber of topic: on this node, and through the
// broker on the others. It may be called from any goroutine, event loops
// included, and never blocks.
//
// The frame is encoded once; each event loop with subscribers gets one hand-
// off that writes the same bytes to each of its subscribers. On the calling
// event loop the writes usually happen before Publish returns. Messages published to
// a topic from one goroutine reach each subscriber in that order.
//
// A slow subscriber does not hold anyone up: past the engine's outbound
// limit its copy is dropped (PolicyDrop) or it is closed with 1008
// (PolicyClose), and the topic counts a drop. Text payloads must be valid
// UTF-8 (Publish does not check; see codec.ValidUTF8). payload may be reused
// once Publish returns.
//
// The error is ErrHubClosed, ErrMessageType, or the broker's; local
// subscribers are reached whatever the broker says.
func (h *Hub) Publish(topic string, typ engine.MessageType, payload []byte) error {
	op, ok := opcode(typ)
	if !ok {
		return ErrMessageType
	}
	h.mu.RLock()
	t, closed := h.topics[topic], h.closed
	h.mu.RUnlock()
	if closed {
		return ErrHubClosed
	}
	h.published.Add(1)
	if t != nil {
		t.published.Add(1)
		h.fanOut(t, op, payload)
	}
	if h.broker != nil {
		return h.broker.Publish(topic, typ, payload)
	}
	return nil
}

// deliverRemote is the broker's way in: a message another node published.
func (h *Hub) deliverRemote(topic string, typ engine.MessageType, payload []byte) {
	op, ok := opcode(typ)
	if !ok {
		return
	}
	h.mu.RLock()
	t := h.topics[topic]
	h.mu.RUnlock()
	h.received.Add(1)
	if t != nil {
		h.fanOut(t, op, payload)
	}
}

// fanOut encodes the frame once and hands it to each loop with subscribers;
// on the caller's own loop it writes at once (unless earlier work for that
// loop is pending: then it queues behind it, to keep order).
func (h *Hub) fanOut(t *topic, op codec.OpCode, payload []byte) {
	p := t.shards.Load()
	if p == nil || len(*p) == 0 {
		return
	}
	f := codec.NewPreparedFrame(op, payload)
	zf := compressShared(*p, op, payload)
	for _, sh := range *p {
		if !sh.ls.run(item{op: opDeliver, sh: sh, frame: f, zf: zf}) {
			// The loop is this far behind: its subscribers miss this one.
			t.overflows.Add(1)
			h.overflows.Add(1)
		}
	}
}

// compressShared returns payload compressed once, without a dictionary, as
// a prepared frame with RSV1, when some shard counts subscribers that take
// it (engine.Conn.SharedDeflate) and payload is at least their server's
// DeflateThreshold; nil otherwise, or when compression does not make it
// smaller. The count is a hint: a subscriber it missed gets the plain
// frame, which RFC 7692 allows. One allocation (the frame), whatever the
// number of subscribers; the compressor and its output buffer are pooled.
func compressShared(shards []*shard, op codec.OpCode, payload []byte) *codec.PreparedFrame {
	need := false
	for _, sh := range shards {
		if sh.shared.Load() > 0 && len(payload) >= sh.ls.loop.DeflateThreshold() {
			need = true
			break
		}
	}
	if !need {
		return nil
	}
	bp := zbufs.Get().(*[]byte)
	z := pmd.Deflate((*bp)[:0], payload, nil)
	var zf *codec.PreparedFrame
	if len(z) < len(payload) {
		zf = codec.NewPreparedFrameRSV(op, 0b100, z)
	}
	if cap(z) <= zbufKeep {
		*bp = z[:0]
		zbufs.Put(bp)
	}
	return zf
}

// zbufs holds compression output buffers of at most zbufKeep bytes.
var zbufs = sync.Pool{New: func() any { return new([]byte) }}

const zbufKeep = 256 << 10

func opcode(typ engine.MessageType) (codec.OpCode, bool) {
	switch typ {
	case engine.Text:
		return codec.OpText, true
	case engine.Binary:
		return codec.OpBinary, true
	}
	return 0, false
}
