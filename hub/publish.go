package hub

import (
	"context"
	"sync"
	"time"

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
// UTF-8: Publish checks once and refuses invalid text with ErrInvalidUTF8
// (one such message would make every browser subscribed drop its
// connection). payload may be reused once Publish returns.
//
// For a topic with history (Config.History) Publish returns the message's
// Position when this hub numbers it (history in memory), and the writes
// are always handed to the loops, never made before Publish returns. When a
// HistoryBroker keeps the history, the broker numbers the message after
// Publish returns and Publish returns the zero Position; every node,
// this one included, delivers the message once the broker has numbered it.
//
// The error is ErrHubClosed, ErrMessageType, ErrInvalidUTF8, or the
// broker's; local subscribers are reached whatever the broker says.
func (h *Hub) Publish(topic string, typ engine.MessageType, payload []byte) (Position, error) {
	op, ok := opcode(typ)
	if !ok {
		return Position{}, ErrMessageType
	}
	if typ == engine.Text && !codec.ValidUTF8(payload) {
		return Position{}, ErrInvalidUTF8
	}
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		return Position{}, ErrHubClosed
	}
	h.published.Add(1)
	if s := h.streamOf(topic); s != nil {
		if h.hbroker != nil {
			if err := h.hbroker.Append(topic, *s.rule, typ, payload, nil); err != nil {
				h.publishPlain(topic, op, payload)
				return Position{}, err
			}
			return Position{}, nil
		}
		pos := h.publishStream(s, op, payload, true)
		var err error
		if h.broker != nil {
			err = h.broker.Publish(topic, typ, payload)
		}
		return pos, err
	}
	h.publishPlain(topic, op, payload)
	if h.broker != nil {
		return Position{}, h.broker.Publish(topic, typ, payload)
	}
	return Position{}, nil
}

// PublishWait is Publish that, when a HistoryBroker numbers the message,
// waits until it has and returns its position (Publish returns the zero
// Position then). It blocks for a round trip to the broker: call it off the
// event loops, e.g. from an HTTP handler. Elsewhere it is Publish. The error
// is hub.ErrNotReplicated when the broker could not take the message (it
// was then delivered on this node only), or ctx's.
func (h *Hub) PublishWait(ctx context.Context, topic string, typ engine.MessageType, payload []byte) (Position, error) {
	s := h.streamOf(topic)
	if s == nil || h.hbroker == nil {
		return h.Publish(topic, typ, payload)
	}
	op, ok := opcode(typ)
	if !ok {
		return Position{}, ErrMessageType
	}
	if typ == engine.Text && !codec.ValidUTF8(payload) {
		return Position{}, ErrInvalidUTF8
	}
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		return Position{}, ErrHubClosed
	}
	h.published.Add(1)
	type result struct {
		pos Position
		err error
	}
	ch := make(chan result, 1)
	if err := h.hbroker.Append(topic, *s.rule, typ, payload, func(p Position, err error) { ch <- result{p, err} }); err != nil {
		h.publishPlain(topic, op, payload)
		return Position{}, err
	}
	select {
	case r := <-ch:
		return r.pos, r.err
	case <-ctx.Done():
		return Position{}, ctx.Err()
	}
}

// publishPlain delivers an unnumbered message to this node's subscribers.
func (h *Hub) publishPlain(topic string, op codec.OpCode, payload []byte) {
	h.mu.RLock()
	t := h.topics[topic]
	h.mu.RUnlock()
	if t == nil {
		return
	}
	t.published.Add(1)
	p := t.shards.Load()
	if p == nil || len(*p) == 0 {
		return
	}
	f, zf := h.encode(*p, topic, Position{}, op, payload)
	h.handOut(t, *p, f, zf, 0, false)
}

// publishStream numbers a message of s (at s.top+1), keeps it in s and
// hands it to the topic's loops, all under s.mu: so each loop's queue holds
// the topic's messages in offset order, and a recovery (which reads s under
// s.mu on the subscriber's loop) sees every message either in the history
// or queued behind it, never neither.
func (h *Hub) publishStream(s *stream, op codec.OpCode, payload []byte, local bool) Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return h.appendAndSend(s, Position{Offset: s.top + 1, Epoch: s.epoch}, op, payload, local)
}

// appendAndSend is publishStream's body; s.mu is held.
func (h *Hub) appendAndSend(s *stream, pos Position, op codec.OpCode, payload []byte, local bool) Position {
	h.mu.RLock()
	t := h.topics[s.name]
	h.mu.RUnlock()
	var shards []*shard
	if t != nil {
		if p := t.shards.Load(); p != nil {
			shards = *p
		}
		if local {
			t.published.Add(1)
		}
	}
	f, zf := h.encode(shards, s.name, pos, op, payload)
	h.appendLocked(s, hentry{off: pos.Offset, at: time.Now().UnixNano(), f: f, zf: zf})
	if len(shards) > 0 {
		h.handOut(t, shards, f, zf, pos.Offset, true)
	}
	return pos
}

// deliverRemote is the broker's way in: a message another node published.
func (h *Hub) deliverRemote(topic string, typ engine.MessageType, payload []byte) {
	op, ok := opcode(typ)
	if !ok {
		return
	}
	h.received.Add(1)
	if s := h.streamOf(topic); s != nil && h.hbroker == nil {
		// Each node numbers what it delivers: positions are this node's.
		h.publishStream(s, op, payload, false)
		return
	}
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
	f, zf := h.encode(*p, topic, Position{}, op, payload)
	h.handOut(t, *p, f, zf, 0, false)
}

// encode makes the frame (through Config.Envelope when set) once, and its
// shared compressed form when some subscriber takes it.
func (h *Hub) encode(shards []*shard, topic string, pos Position, op codec.OpCode, payload []byte) (f, zf *codec.PreparedFrame) {
	if h.envelope == nil {
		return codec.NewPreparedFrame(op, payload), h.compress(shards, op, payload)
	}
	bp := ebufs.Get().(*[]byte)
	body := h.envelope((*bp)[:0], topic, pos, payload)
	f, zf = codec.NewPreparedFrame(op, body), h.compress(shards, op, body)
	if cap(body) <= zbufKeep {
		*bp = body[:0]
		ebufs.Put(bp)
	}
	return f, zf
}

// compress is compressShared, counted in Stats.
func (h *Hub) compress(shards []*shard, op codec.OpCode, payload []byte) *codec.PreparedFrame {
	zf := compressShared(shards, op, payload)
	if zf != nil {
		h.compressed.Add(1)
		h.compressedIn.Add(uint64(len(payload)))
		h.compressedOut.Add(uint64(zf.PayloadLen()))
	}
	return zf
}

// ebufs holds Envelope output buffers of at most zbufKeep bytes.
var ebufs = sync.Pool{New: func() any { return new([]byte) }}

// handOut gives f to each loop with subscribers. Numbered messages (off >
// 0) are always queued, never written inline: the caller holds the
// stream's lock, and a write that closes a connection runs callbacks that
// may publish.
func (h *Hub) handOut(t *topic, shards []*shard, f, zf *codec.PreparedFrame, off uint64, queue bool) {
	for _, sh := range shards {
		it := item{op: opDeliver, sh: sh, frame: f, zf: zf, off: off}
		var ok bool
		if queue {
			ok = sh.ls.enqueue(it)
		} else {
			ok = sh.ls.run(it)
		}
		if !ok {
			// The loop is this far behind: its subscribers miss this one.
			t.overflows.Add(1)
			h.overflows.Add(1)
		}
	}
}

// compressShared returns payload compressed once, without a dictionary, as
// a prepared frame with RSV1, when some shard counts subscribers that take
// it (engine.Conn.SharedDeflate) and payload is at least their server's
// DeflateThreshold, at that server's DeflateLevel and within the smallest
// shared window (engine.Loop.SharedDeflateBits) of those shards' servers;
// nil otherwise, or when compression does not make it smaller. The count
// is a hint: a subscriber it missed gets the plain frame, which RFC 7692
// allows. One allocation (the frame), whatever the number of subscribers;
// the compressor and its output buffer are pooled.
func compressShared(shards []*shard, op codec.OpCode, payload []byte) *codec.PreparedFrame {
	level, bits := 0, codec.DeflateMaxWindowBits
	for _, sh := range shards {
		if sh.shared.Load() > 0 && len(payload) >= sh.ls.loop.DeflateThreshold() {
			if level == 0 {
				level = sh.ls.loop.DeflateLevel()
			}
			bits = min(bits, sh.ls.loop.SharedDeflateBits())
		}
	}
	if level == 0 {
		return nil
	}
	bp := zbufs.Get().(*[]byte)
	z := pmd.DeflateWithin((*bp)[:0], payload, nil, bits, level)
	var zf *codec.PreparedFrame
	if len(z) < len(payload) {
		zf = codec.NewPreparedFrameDeflate(op, z, bits)
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
