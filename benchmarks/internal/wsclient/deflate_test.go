package wsclient

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/jsondoc"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

func TestAgree(t *testing.T) {
	for _, tc := range []struct {
		mode, answer string
		ok           bool
		serverCtx    bool
		limit        int
	}{
		{"", "", true, false, 0},
		{"", "permessage-deflate", false, false, 0},
		{DeflateNoContextTakeover, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", true, false, 1 << 15},
		{DeflateNoContextTakeover, "", false, false, 0},
		{DeflateNoContextTakeover, "permessage-deflate; client_no_context_takeover", false, false, 0},
		{DeflateNoContextTakeover, "x-webkit-deflate-frame, permessage-deflate;server_no_context_takeover", true, false, 1 << 15},
		{DeflateContextTakeover, "permessage-deflate; client_max_window_bits=12", true, true, 1 << 12},
		{DeflateContextTakeover, "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", true, true, 1 << 12},
		{DeflateContextTakeover, "permessage-deflate; server_no_context_takeover", false, false, 0},
		{DeflateContextTakeover, "permessage-deflate; client_max_window_bits=99", false, false, 0},
		{DeflateServerContextTakeover, "permessage-deflate; client_no_context_takeover", true, true, 1 << 15},
		{DeflateServerContextTakeover, "permessage-deflate; server_no_context_takeover; client_no_context_takeover", false, false, 0},
	} {
		c := &Conn{}
		err := c.agree(tc.mode, tc.answer)
		if (err == nil) != tc.ok {
			t.Errorf("%q / %q: %v", tc.mode, tc.answer, err)
			continue
		}
		if tc.ok && tc.mode != "" && (!c.Deflate() || c.ServerContext() != tc.serverCtx || c.CompressLimit() != tc.limit) {
			t.Errorf("%q / %q: deflate %v, server context %v, limit %d", tc.mode, tc.answer, c.Deflate(), c.ServerContext(), c.CompressLimit())
		}
	}
	if _, err := deflateOffer("gzip"); err == nil {
		t.Error("unknown offer accepted")
	}
}

// TestInflatePrefix reads a compressed message from a pipe: in full, and
// only its header.
func TestInflatePrefix(t *testing.T) {
	doc := jsondoc.Doc([]byte("B123456789012"), 4096-13, 1)
	z := pmd.Deflate(nil, doc, nil)
	frame := serverFrame(true, OpBinary, z)
	frame[0] |= 0x40 // RSV1
	for _, full := range []bool{true, false} {
		c, srv := pipeConn()
		c.pmd = true
		go func() { _, _ = srv.Write(frame) }()
		_, p, err := c.ReadMessageRaw()
		if err != nil || !c.Compressed() {
			t.Fatalf("read: %v, compressed %v", err, c.Compressed())
		}
		if full {
			p, err = c.Inflate(p)
			if err != nil || !bytes.Equal(p, doc) {
				t.Fatalf("inflate: %d bytes, %v", len(p), err)
			}
		} else {
			p, err = c.InflatePrefix(p, 13)
			if err != nil || !bytes.Equal(p, doc[:13]) {
				t.Fatalf("inflate prefix: %q, %v", p, err)
			}
		}
		srv.Close()
	}
	// RSV1 without permessage-deflate is an error
	c, srv := pipeConn()
	defer srv.Close()
	go func() { _, _ = srv.Write(frame) }()
	if _, _, err := c.ReadMessageRaw(); err == nil {
		t.Fatal("RSV1 accepted without permessage-deflate")
	}
}

// TestDeflateAgainstEngine negotiates with switchboard's engine in each
// mode, echoes JSON documents compressed both ways, and counts the bytes.
func TestDeflateAgainstEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	for _, tc := range []struct {
		policy codec.DeflatePolicy
		offer  string
	}{
		{codec.DeflatePolicy{Mode: codec.DeflateNoContextTakeover}, DeflateNoContextTakeover},
		{codec.DeflatePolicy{Mode: codec.DeflateContextTakeover}, DeflateContextTakeover},
		{codec.DeflatePolicy{Mode: codec.DeflateContextTakeover}, DeflateServerContextTakeover},
	} {
		t.Run(tc.offer, func(t *testing.T) {
			addr := startEcho(t, tc.policy)
			var cnt Counters
			d := &Dialer{Timeout: 5 * time.Second, Deflate: tc.offer, Count: &cnt}
			c, err := d.Dial(addr, "/")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !c.Deflate() || c.ServerContext() != (tc.offer != DeflateNoContextTakeover) {
				t.Fatalf("deflate %v, server context %v", c.Deflate(), c.ServerContext())
			}
			tx0, rx0 := cnt.Tx.Load(), cnt.Rx.Load()
			const n, size = 8, 1024
			for i := range n {
				doc := jsondoc.Doc(nil, size, uint64(i))
				if err := c.WriteFrame(OpBinary, doc); err != nil {
					t.Fatal(err)
				}
				_ = c.NetConn().SetReadDeadline(time.Now().Add(5 * time.Second))
				_, p, err := c.ReadMessageRaw()
				if err != nil || !c.Compressed() {
					t.Fatalf("message %d: %v, compressed %v", i, err, c.Compressed())
				}
				if p, err = c.Inflate(p); err != nil || !bytes.Equal(p, doc) {
					t.Fatalf("message %d: %d bytes back, %v", i, len(p), err)
				}
			}
			tx, rx := cnt.Tx.Load()-tx0, cnt.Rx.Load()-rx0
			if tx >= n*size/2 || rx >= n*size/2 || tx == 0 || rx == 0 {
				t.Fatalf("%d bytes sent, %d received for %d documents of %d B", tx, rx, n, size)
			}
			// a dial that asks for what the server does not do fails
			if tc.offer == DeflateNoContextTakeover {
				if _, err := (&Dialer{Timeout: 5 * time.Second, Deflate: DeflateServerContextTakeover}).Dial(addr, "/"); !errors.Is(err, ErrNotNegotiated) {
					t.Fatalf("server context takeover from a no-context server: %v", err)
				}
			}
		})
	}
}

func startEcho(t *testing.T, p codec.DeflatePolicy) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := engine.DefaultConfig(addr)
	cfg.EventLoops = 1
	cfg.Deflate = p
	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatal("server not listening")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
