package load

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/internal/pmd"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// Subscribers of a compressed broadcast.
//
// The compressed broadcast job measures the server's cost of compressing a
// publish and sending it to every subscriber; real subscribers inflate on
// their own machines. Here the generator shares the server's 2 cores, so if
// every subscriber inflated every copy in full (as package client does:
// it always inflates), the completion times would time the generator's
// inflating (measured: completion p50 1.79×, generator CPU 1.57× of the
// generator that did not). So in a pool made for broadcasts
// (Options.Broadcast, Command.BcastOnly) offering no context takeover,
// connection i is a raw WebSocket connection (internal/wstest, the
// repository's raw client, which reports a frame's RSV1 bit as sent)
// except where i%SampleEvery == 0:
//   - a raw receiver reads each frame into one reused buffer and takes the
//     header of a compressed message from the worker's zcache, which
//     inflates each distinct compressed payload once (every subscriber gets
//     the same bytes: a server compresses a publish once, or each time
//     alike) and compares the copies that follow with it;
//   - the other connections (one in SampleEvery, the publisher among them)
//     stay package client connections, which inflate every message in
//     full; the worker checks each one's length.
//
// A length is checked wherever a message was inflated in full: on the
// sampled connections and on each zcache miss; a copy served from the
// zcache is not checked again (it is the bytes that were). That is how the
// generator before package client counted; it inflated only a payload's
// header on a miss. With Options.RawReceivers a pool offering nothing or
// context takeover makes the same raw receivers (the deflate suite's
// broadcast job sets it in every mode, so that its runs read the same
// way); under context takeover a broadcast compressed once for every
// subscriber is compressed alone, so it inflates without history too.

// SampleEvery: one connection in SampleEvery of a compressed broadcast
// inflates every message in full (see above).
const SampleEvery = 100

// recvConn is a raw receiver of a compressed broadcast: a wstest
// connection with a reader goroutine.
type recvConn struct {
	c       *wstest.Client
	w       *worker
	closing atomic.Bool
}

// rawReceiver says whether connection i is a raw receiver: in a
// broadcast pool offering no context takeover, or (with
// Command.RawReceivers) nothing or context takeover.
func (w *worker) rawReceiver(i int) bool {
	var raw bool
	switch w.cfg.Deflate {
	case DeflateNoContextTakeover:
		raw = true
	case "", DeflateContextTakeover:
		raw = w.cfg.RawReceivers
	}
	return w.cfg.BcastOnly && !w.cfg.Raw && raw && i%SampleEvery != 0
}

// Extension offers of raw receivers: what package client offers for
// DeflateNoContextTakeover and DeflateContextTakeover. Under context
// takeover a raw receiver still inflates each distinct payload without
// history: a server that compresses a broadcast once for all its
// subscribers compresses it alone (switchboard and lxzan/gws do); one that
// compressed it with a connection's history would fail the receiver.
const (
	offerNoContext = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	offerContext   = "permessage-deflate; client_max_window_bits"
)

// dialReceiver opens connection number i as a raw receiver and starts its
// reader. The server must answer permessage-deflate with
// server_no_context_takeover.
func (w *worker) dialReceiver(i int) (*recvConn, error) {
	o := &wstest.DialOptions{
		Path:    w.cfg.Path,
		Timeout: time.Duration(w.cfg.DialTimeoutMS) * time.Millisecond,
		TLS:     w.tls,
	}
	deflate := w.cfg.Deflate != ""
	switch w.cfg.Deflate {
	case DeflateNoContextTakeover:
		o.Header = http.Header{"Sec-WebSocket-Extensions": {offerNoContext}}
	case DeflateContextTakeover:
		o.Header = http.Header{"Sec-WebSocket-Extensions": {offerContext}}
	}
	if src := w.source(i); src != nil {
		o.LocalAddr = src.String()
	}
	c, err := wstest.Dial(w.cfg.Addr, o)
	if err != nil {
		return nil, err
	}
	exts := c.Response.Header.Values("Sec-WebSocket-Extensions")
	if err := answerDeflate(exts, w.cfg.Deflate == DeflateNoContextTakeover); deflate && err != nil || !deflate && len(exts) != 0 {
		if err == nil {
			err = fmt.Errorf("%w: extensions %q answered to no offer", ErrNotNegotiated, exts)
		}
		_ = CloseStalled(c)
		return nil, err
	}
	c.WriteTimeout = 10 * time.Second
	return &recvConn{c: c, w: w}, nil
}

// answerDeflate checks a server's Sec-WebSocket-Extensions answer to a
// raw receiver's offer: permessage-deflate alone, with
// server_no_context_takeover when noContext.
func answerDeflate(values []string, noContext bool) error {
	var exts []string
	for _, v := range values {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				exts = append(exts, e)
			}
		}
	}
	if len(exts) != 1 {
		return fmt.Errorf("%w: extensions %q", ErrNotNegotiated, exts)
	}
	params := strings.Split(exts[0], ";")
	if strings.TrimSpace(params[0]) != "permessage-deflate" {
		return fmt.Errorf("%w: extension %q", ErrNotNegotiated, exts[0])
	}
	if !noContext {
		return nil
	}
	for _, p := range params[1:] {
		if strings.TrimSpace(p) == "server_no_context_takeover" {
			return nil
		}
	}
	return fmt.Errorf("%w: the answer keeps server context", ErrNotNegotiated)
}

// read runs the receiver until its connection ends; a connection the
// server closed leaves the worker.
func (r *recvConn) read() {
	defer r.w.readers.Done()
	_ = r.loop()
	if !r.closing.Load() {
		r.w.droppedReceiver(r)
		_ = CloseStalled(r.c)
	}
}

var errServerFrame = errors.New("receiver: a frame a server must not send")

func (r *recvConn) loop() error {
	var buf, msg []byte
	var compressed, inMsg bool
	if err := r.c.Conn.SetReadDeadline(time.Time{}); err != nil { // none: not one per frame
		return err
	}
	for {
		f, err := r.c.ReadNextFrame(buf)
		if err != nil {
			return err
		}
		buf = f.Payload
		if f.Masked || f.Rsv&^4 != 0 || (f.Rsv != 0 && f.Op.IsControl()) {
			return errServerFrame
		}
		var p []byte
		switch f.Op {
		case ws.OpPing:
			if err := r.c.WriteFrame(ws.OpPong, true, f.Payload); err != nil {
				return err
			}
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			return &wstest.CloseError{Code: 1005}
		case ws.OpContinuation:
			if !inMsg || f.Rsv != 0 || len(msg)+len(f.Payload) > maxMessage {
				return errServerFrame
			}
			msg = append(msg, f.Payload...)
			if !f.Fin {
				continue
			}
			p = msg
		case ws.OpText, ws.OpBinary:
			if inMsg {
				return errServerFrame
			}
			compressed = f.Rsv&4 != 0
			if !f.Fin {
				msg, inMsg = append(msg[:0], f.Payload...), true
				continue
			}
			p = f.Payload
		default:
			return errServerFrame
		}
		inMsg = false
		if err := r.w.onReceived(p, compressed); err != nil {
			return err
		}
	}
}

// onReceived takes a message a raw receiver read (compressed: as it came,
// RSV1 set).
func (w *worker) onReceived(p []byte, compressed bool) error {
	if !compressed {
		w.onBroadcast(p, true)
		return nil
	}
	if w.bcast.Load() == nil {
		return nil // a late copy of an earlier broadcast
	}
	h, full, err := w.zc.header(p)
	if err != nil {
		return err
	}
	w.onBroadcast(h, full)
	return nil
}

// zcacheSize bounds the entries of a zcache, zcacheMaxPayload the size of
// a payload it keeps (larger ones are inflated every time).
const (
	zcacheSize       = 64
	zcacheMaxPayload = 256 << 10
)

// zcache holds the inflated header of the last zcacheSize distinct
// compressed payloads a worker's raw receivers read. Each payload is
// inflated in full once (and its length checked, by the caller); its
// copies are found by hash and compared byte for byte.
type zcache struct {
	mu     sync.Mutex
	seed   maphash.Seed
	ents   [zcacheSize]zent
	next   int // the entry to replace next
	hits   atomic.Int64
	misses atomic.Int64
}

type zent struct {
	sum    uint64
	z      []byte // nil: empty
	header []byte
}

func newZcache() *zcache { return &zcache{seed: maphash.MakeSeed()} }

// header returns the start of compressed payload z inflated (the whole
// message on a miss, with full true; at most bcastHeader bytes on a hit).
func (zc *zcache) header(z []byte) (p []byte, full bool, err error) {
	if len(z) > zcacheMaxPayload {
		p, err = pmd.Inflate(nil, z, nil, maxMessage)
		return p, true, err
	}
	sum := maphash.Bytes(zc.seed, z)
	zc.mu.Lock()
	defer zc.mu.Unlock()
	for i := range zc.ents {
		if e := &zc.ents[i]; e.z != nil && e.sum == sum && bytes.Equal(e.z, z) {
			zc.hits.Add(1)
			return e.header, false, nil
		}
	}
	// A miss: inflate under the lock, so that the receivers of one publish
	// inflate it once between them.
	p, err = pmd.Inflate(nil, z, nil, maxMessage)
	if err != nil {
		return nil, true, err
	}
	zc.misses.Add(1)
	zc.ents[zc.next] = zent{sum: sum, z: bytes.Clone(z), header: bytes.Clone(p[:min(len(p), bcastHeader)])}
	zc.next = (zc.next + 1) % zcacheSize
	return p, true, nil
}

// pingReceivers pings every raw receiver every d (servers whose heartbeat
// is a read deadline need traffic from the client) until stop closes.
func (w *worker) pingReceivers(d time.Duration, stop chan struct{}) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			w.mu.Lock()
			recv := append([]*recvConn(nil), w.recv...)
			w.mu.Unlock()
			for _, r := range recv {
				_ = r.c.WriteFrame(ws.OpPing, true, nil)
			}
		}
	}
}

// droppedReceiver removes a raw receiver the server closed.
func (w *worker) droppedReceiver(r *recvConn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.recv = removeSwap(w.recv, r)
}
