package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// echoServer runs a switchboard echo server on 127.0.0.1 with the given
// permessage-deflate mode until the test ends.
func echoServer(t *testing.T, mode codec.DeflateMode) string {
	t.Helper()
	return runServer(t, mode, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
	})
}

// runServer runs a switchboard server with h on one event loop of
// 127.0.0.1 (every callback on one loop: each may write to any
// connection), with the given permessage-deflate mode, until the test
// ends, and returns its address.
func runServer(t *testing.T, mode codec.DeflateMode, h engine.Handler) string {
	t.Helper()
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 1
	cfg.Deflate = codec.DeflatePolicy{Mode: mode}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := engine.New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = srv.Run(ctx) }()
	addr := srv.Addr()
	if addr == "" {
		t.Fatal("server did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-srv.Done()
	})
	return addr
}

func TestNetDialBindsSource(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		name string
		src  net.IP
	}{
		{"kernel's choice", nil},
		{"127.0.0.3", net.IPv4(127, 0, 0, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := NetDial(WithSource(context.Background(), tc.src), "tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			got := nc.LocalAddr().(*net.TCPAddr).IP
			if tc.src != nil && !got.Equal(tc.src) {
				t.Fatalf("source %v, want %v", got, tc.src)
			}
		})
	}
}

func TestPartialFrame(t *testing.T) {
	for _, tc := range []struct {
		size, header int // masked client header: 2 + length bytes + 4
	}{
		{2, 6},
		{100, 6},
		{1000, 8},
		{1 << 20, 14},
	} {
		f := PartialFrame(tc.size)
		if len(f) != tc.header+tc.size-1 {
			t.Errorf("size %d: %d bytes, want %d", tc.size, len(f), tc.header+tc.size-1)
		}
		if f[0] != 0x82 || f[1]&0x80 == 0 {
			t.Errorf("size %d: header % x: want a final masked binary frame", tc.size, f[:2])
		}
	}
}

// TestAgreed dials each offer against each server mode and checks which
// connections the generator keeps.
func TestAgreed(t *testing.T) {
	servers := map[codec.DeflateMode]string{
		codec.DeflateOff:               echoServer(t, codec.DeflateOff),
		codec.DeflateNoContextTakeover: echoServer(t, codec.DeflateNoContextTakeover),
		codec.DeflateContextTakeover:   echoServer(t, codec.DeflateContextTakeover),
	}
	cl, err := client.New(client.Config{EventLoops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close(context.Background())
	for _, tc := range []struct {
		offer  string
		server codec.DeflateMode
		ok     bool
	}{
		{"", codec.DeflateOff, true},
		{"", codec.DeflateContextTakeover, true},
		{DeflateNoContextTakeover, codec.DeflateNoContextTakeover, true},
		{DeflateNoContextTakeover, codec.DeflateContextTakeover, true}, // the server grants server_no_context_takeover
		{DeflateNoContextTakeover, codec.DeflateOff, false},
		{DeflateContextTakeover, codec.DeflateContextTakeover, true},
		{DeflateContextTakeover, codec.DeflateNoContextTakeover, false},
		{DeflateServerContextTakeover, codec.DeflateContextTakeover, true},
		{DeflateServerContextTakeover, codec.DeflateNoContextTakeover, false},
		{DeflateServerContextTakeover, codec.DeflateOff, false},
	} {
		comp, err := compression(tc.offer)
		if err != nil {
			t.Fatal(err)
		}
		d := &client.Dialer{Client: cl, Compression: comp}
		c, err := d.Dial(context.Background(), "ws://"+servers[tc.server]+"/", nil)
		if err != nil {
			t.Fatalf("offer %q, server %v: %v", tc.offer, tc.server, err)
		}
		err = agreed(c, tc.offer)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrNotNegotiated)) {
			t.Errorf("offer %q, server %v: agreed() = %v, want ok %v", tc.offer, tc.server, err, tc.ok)
		}
		_ = c.Abort()
	}
	if _, err := compression("bogus"); err == nil {
		t.Error("compression(bogus): no error")
	}
}

// TestWorker drives a worker through its JSON protocol: connections, an
// echo job (every round trip back, timed, bytes counted), a broadcast the
// echo server returns to its one sender, a stall and the close.
func TestWorker(t *testing.T) {
	addr := echoServer(t, codec.DeflateNoContextTakeover)
	send, next, end := startWorker(t)
	next("ready")
	send(Command{Op: "init", Addr: addr, SrcBase: "127.0.0.2", PerSource: 2, Deflate: DeflateNoContextTakeover, DialTimeoutMS: 5000})
	next("ok")
	send(Command{Op: "connect", N: 3})
	if ev := next("connected"); ev.OK != 3 || ev.Live != 3 || ev.Err != "" {
		t.Fatalf("connected: %+v", ev)
	}

	for _, doc := range []string{"", DocJSON} {
		send(Command{Op: "echo", Conns: 3, Msgs: 4, Size: 1000, TimeoutMS: 10000, Record: true, Doc: doc})
		ev := next("echo")
		if ev.Msgs != 12 || ev.Count != 0 || ev.Err != "" || ev.Hist == nil {
			t.Fatalf("echo %q: %+v", doc, ev)
		}
		// 12 messages each way, compressed (JSON) or not (bytes of one
		// value compress too): at least a frame header per message, at
		// most the message and its header.
		if ev.Tx < 12*6 || ev.Tx > 12*(1000+8) || ev.Rx < 12*2 || ev.Rx > 12*(1000+4) {
			t.Errorf("echo %q: socket bytes %d sent, %d received", doc, ev.Tx, ev.Rx)
		}
	}

	// The echo server sends a publish back to its sender only: one
	// subscriber.
	send(Command{Op: "close"})
	next("closed")
	send(Command{Op: "connect", N: 1})
	next("connected")
	send(Command{Op: "bcast_begin", K: 2, Size: 100})
	if ev := next("ok"); ev.Live != 1 {
		t.Fatalf("bcast_begin: %+v", ev)
	}
	for seq := 0; seq < 2; seq++ {
		send(Command{Op: "publish", Seq: seq, Size: 100})
		if ev := next("got"); ev.Seq != seq || ev.Count != 1 || ev.MaxNS <= 0 || ev.MaxNS > int64(10*time.Second) {
			t.Fatalf("got: %+v", ev)
		}
	}
	send(Command{Op: "bcast_end"})
	if ev := next("bcast"); len(ev.Counts) != 2 || ev.Counts[0] != 1 || ev.Counts[1] != 1 || ev.Fail != 0 {
		t.Fatalf("bcast: %+v", ev)
	}

	// A stalled connection replaces the package client one.
	send(Command{Op: "stall", Conns: 1, Size: 1000, TimeoutMS: 5000})
	if ev := next("stalled"); ev.OK != 1 || ev.Fail != 0 || ev.Live != 1 {
		t.Fatalf("stalled: %+v", ev)
	}
	send(Command{Op: "close"})
	next("closed")
	end()
}

// startWorker runs RunWorker on pipes until the test calls end: send
// writes a command, next returns the next event of a kind (failing the
// test on an error event).
func startWorker(t *testing.T) (send func(Command), next func(string) Event, end func()) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- RunWorker(inR, outW)
		outW.Close()
	}()
	events := bufio.NewScanner(outR)
	enc := json.NewEncoder(inW)
	next = func(want string) Event {
		t.Helper()
		for events.Scan() {
			var ev Event
			if err := json.Unmarshal(events.Bytes(), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Ev == "error" {
				t.Fatalf("worker: %s", ev.Err)
			}
			if ev.Ev == want {
				return ev
			}
		}
		t.Fatalf("no %q event", want)
		return Event{}
	}
	send = func(c Command) {
		t.Helper()
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	end = func() {
		t.Helper()
		inW.Close()
		go func() { _, _ = io.Copy(io.Discard, outR) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("worker did not end")
		}
	}
	return send, next, end
}

// bcastServer runs a switchboard server on one event loop that sends every
// message it receives to every connection it holds (the sender included),
// compressing it for each (no context takeover: the same bytes each time).
func bcastServer(t *testing.T) string {
	t.Helper()
	conns := map[*engine.Conn]bool{}
	return runServer(t, codec.DeflateNoContextTakeover, engine.Handlers{
		Open:  func(c *engine.Conn) { conns[c] = true },
		Close: func(c *engine.Conn, _ error) { delete(conns, c) },
		Message: func(_ *engine.Conn, typ engine.MessageType, data []byte) {
			for c := range conns {
				_ = c.WriteMessage(typ, data)
			}
		},
	})
}

// TestWorkerCompressedBroadcast: in a broadcast-only worker offering no
// context takeover, connections 99 and 101 are raw receivers and 100 a
// package client one (it publishes). Each publish is inflated in full
// twice (connection 100, and the first raw copy) and served once from the
// zcache; a wrong length counts once per full inflation.
func TestWorkerCompressedBroadcast(t *testing.T) {
	addr := bcastServer(t)
	send, next, end := startWorker(t)
	next("ready")
	send(Command{Op: "init", Addr: addr, SrcBase: "127.0.0.2", Deflate: DeflateNoContextTakeover, DialTimeoutMS: 5000, BcastOnly: true, PingEveryMS: 50})
	next("ok")
	send(Command{Op: "connect", N: 3, First: 99})
	if ev := next("connected"); ev.OK != 3 || ev.Live != 3 || ev.Err != "" {
		t.Fatalf("connected: %+v", ev)
	}
	tests := []struct {
		name       string
		size, sent int // announced in bcast_begin, published
		doc        string
		bad        int
	}{
		{"json", 4096, 4096, DocJSON, 0},
		{"bytes", 1000, 1000, "", 0},
		{"wrong length", 4096, 2000, DocJSON, 2 * 3},
	}
	for _, tt := range tests {
		send(Command{Op: "bcast_begin", K: 3, Size: tt.size, Doc: tt.doc})
		if ev := next("ok"); ev.Live != 3 {
			t.Fatalf("%s: bcast_begin: %+v", tt.name, ev)
		}
		for seq := 0; seq < 3; seq++ {
			send(Command{Op: "publish", Seq: seq, Size: tt.sent})
			if ev := next("got"); ev.Seq != seq || ev.Count != 3 || ev.MaxNS <= 0 || ev.MaxNS > int64(10*time.Second) {
				t.Fatalf("%s: got: %+v", tt.name, ev)
			}
			time.Sleep(60 * time.Millisecond) // a ping or so on the raw receivers
		}
		send(Command{Op: "bcast_end"})
		ev := next("bcast")
		if len(ev.Counts) != 3 || ev.Counts[0] != 3 || ev.Counts[2] != 3 || ev.Fail != tt.bad || ev.Shared != 3 {
			t.Fatalf("%s: bcast: %+v", tt.name, ev)
		}
	}
	send(Command{Op: "close"})
	if ev := next("closed"); ev.Live != 0 {
		t.Fatalf("closed: %+v", ev)
	}
	end()
}

func TestAnswerDeflate(t *testing.T) {
	tests := []struct {
		answer    []string
		ok        bool
		noContext bool // the offer asked for server_no_context_takeover
	}{
		{[]string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, true, true},
		{[]string{"permessage-deflate;server_no_context_takeover"}, true, true},
		{[]string{"permessage-deflate; client_no_context_takeover"}, false, true},
		{[]string{"permessage-deflate"}, false, true},
		{nil, false, true},
		{[]string{"x-other; server_no_context_takeover"}, false, true},
		{[]string{"permessage-deflate; server_no_context_takeover", "x-other"}, false, true},
		{[]string{"permessage-deflate; client_max_window_bits=12"}, true, false},
		{[]string{"permessage-deflate"}, true, false},
		{nil, false, false},
		{[]string{"permessage-deflate", "permessage-deflate"}, false, false},
	}
	for _, tt := range tests {
		err := answerDeflate(tt.answer, tt.noContext)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrNotNegotiated)) {
			t.Errorf("%q: %v", tt.answer, err)
		}
	}
}

// TestZcache: a payload is inflated once and its copies served from the
// cache (header only); the cache holds zcacheSize payloads; a large
// payload is inflated every time; corrupt data is an error.
func TestZcache(t *testing.T) {
	msg := func(i int) []byte {
		p := bytes.Repeat([]byte("payload "), 100)
		p[0] = MarkBroadcast
		binary.BigEndian.PutUint32(p[1:5], uint32(i))
		return p
	}
	zc := newZcache()
	for round := 0; round < 2; round++ {
		for i := 0; i < zcacheSize; i++ {
			z := pmd.Deflate(nil, msg(i), nil)
			p, full, err := zc.header(z)
			if err != nil || full != (round == 0) {
				t.Fatalf("round %d, payload %d: full %v, %v", round, i, full, err)
			}
			want := msg(i)
			if full && !bytes.Equal(p, want) || !full && !bytes.Equal(p, want[:bcastHeader]) {
				t.Fatalf("round %d, payload %d: wrong bytes", round, i)
			}
		}
	}
	if zc.hits.Load() != zcacheSize || zc.misses.Load() != zcacheSize {
		t.Fatalf("%d hits, %d misses", zc.hits.Load(), zc.misses.Load())
	}
	// one more evicts the oldest
	_, _, _ = zc.header(pmd.Deflate(nil, msg(zcacheSize), nil))
	if _, full, _ := zc.header(pmd.Deflate(nil, msg(0), nil)); !full {
		t.Error("payload 0 still cached after zcacheSize more")
	}
	big := make([]byte, zcacheMaxPayload+1000)
	x := uint64(88172645463325252)
	for i := range big { // xorshift: incompressible
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		big[i] = byte(x)
	}
	zbig := pmd.Deflate(nil, big, nil)
	if len(zbig) <= zcacheMaxPayload {
		t.Fatalf("test payload compressed to %d bytes", len(zbig))
	}
	for range 2 {
		if p, full, err := zc.header(zbig); err != nil || !full || !bytes.Equal(p, big) {
			t.Fatalf("large payload: full %v, %v", full, err)
		}
	}
	if _, _, err := zc.header([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Error("corrupt payload inflated")
	}
}

// TestWorkerPlainBroadcastRaw: with RawReceivers and no deflate offered,
// connections 99 and 101 are raw receivers too (offering nothing) and
// every copy's length is checked.
func TestWorkerPlainBroadcastRaw(t *testing.T) {
	addr := bcastServer(t)
	send, next, end := startWorker(t)
	next("ready")
	send(Command{Op: "init", Addr: addr, SrcBase: "127.0.0.2", DialTimeoutMS: 5000, BcastOnly: true, RawReceivers: true, PingEveryMS: 50})
	next("ok")
	send(Command{Op: "connect", N: 3, First: 99})
	if ev := next("connected"); ev.OK != 3 || ev.Live != 3 || ev.Err != "" {
		t.Fatalf("connected: %+v", ev)
	}
	for _, tt := range []struct {
		name       string
		size, sent int
		bad        int
	}{{"right length", 4096, 4096, 0}, {"wrong length", 4096, 2000, 3 * 3}} {
		send(Command{Op: "bcast_begin", K: 3, Size: tt.size, Doc: DocJSON})
		if ev := next("ok"); ev.Live != 3 {
			t.Fatalf("%s: bcast_begin: %+v", tt.name, ev)
		}
		for seq := 0; seq < 3; seq++ {
			send(Command{Op: "publish", Seq: seq, Size: tt.sent})
			if ev := next("got"); ev.Seq != seq || ev.Count != 3 {
				t.Fatalf("%s: got: %+v", tt.name, ev)
			}
		}
		send(Command{Op: "bcast_end"})
		if ev := next("bcast"); len(ev.Counts) != 3 || ev.Counts[0] != 3 || ev.Fail != tt.bad || ev.Shared != 0 {
			t.Fatalf("%s: bcast: %+v", tt.name, ev)
		}
	}
	if n := func() int {
		send(Command{Op: "close"})
		return next("closed").Live
	}(); n != 0 {
		t.Fatalf("closed: %d live", n)
	}
	end()
}

// TestWorkerTakeoverBroadcastRaw: with RawReceivers and a context-takeover
// offer, raw receivers read broadcasts a server compresses once, alone,
// for every subscriber (a hub-like server: engine.Conn.SharedDeflate).
func TestWorkerTakeoverBroadcastRaw(t *testing.T) {
	conns := map[*engine.Conn]bool{}
	addr := runServer(t, codec.DeflateContextTakeover, engine.Handlers{
		Open:  func(c *engine.Conn) { conns[c] = true },
		Close: func(c *engine.Conn, _ error) { delete(conns, c) },
		Message: func(c0 *engine.Conn, typ engine.MessageType, data []byte) {
			bits := c0.Loop().SharedDeflateBits()
			zf := codec.NewPreparedFrameDeflate(codec.OpBinary, pmd.DeflateWithin(nil, data, nil, bits, 1), bits)
			for c := range conns {
				if !c.SharedDeflate() {
					t.Errorf("a context-takeover connection does not take shared frames")
				}
				_ = c.WritePrepared(zf)
			}
		},
	})
	send, next, end := startWorker(t)
	next("ready")
	send(Command{Op: "init", Addr: addr, SrcBase: "127.0.0.2", Deflate: DeflateContextTakeover, DialTimeoutMS: 5000, BcastOnly: true, RawReceivers: true})
	next("ok")
	send(Command{Op: "connect", N: 3, First: 99})
	if ev := next("connected"); ev.OK != 3 || ev.Live != 3 || ev.Err != "" {
		t.Fatalf("connected: %+v", ev)
	}
	send(Command{Op: "bcast_begin", K: 3, Size: 4096, Doc: DocJSON})
	next("ok")
	for seq := 0; seq < 3; seq++ {
		send(Command{Op: "publish", Seq: seq, Size: 4096})
		if ev := next("got"); ev.Seq != seq || ev.Count != 3 {
			t.Fatalf("got: %+v", ev)
		}
	}
	send(Command{Op: "bcast_end"})
	if ev := next("bcast"); len(ev.Counts) != 3 || ev.Counts[0] != 3 || ev.Fail != 0 || ev.Shared != 3 {
		t.Fatalf("bcast: %+v", ev)
	}
	send(Command{Op: "close"})
	next("closed")
	end()
}
