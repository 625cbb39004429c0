package hub

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// node is one server with a hub, for tests: connections join the topics
// named in their ?room= query (repeatable) when they open.
type node struct {
	hub   *Hub
	srv   *engine.Server
	addr  string
	opens chan *engine.Conn
	onMsg atomic.Pointer[func(c *engine.Conn, typ engine.MessageType, data []byte)]

	mu     sync.Mutex
	closed []*engine.Conn
}

func startNode(t testing.TB, cfg Config, tweak func(*engine.Config)) *node {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{hub: h, opens: make(chan *engine.Conn, 16384)}
	app := engine.Handlers{
		Open: func(c *engine.Conn) {
			q, _ := url.ParseQuery(c.RawQuery())
			var o SubscribeOptions
			if q.Has("since") {
				off, _ := strconv.ParseUint(q.Get("since"), 10, 64)
				o.Since = &Position{Offset: off, Epoch: q.Get("epoch")}
			}
			if q.Has("info") {
				o.Info = []byte(q.Get("info"))
			}
			for _, room := range q["room"] {
				if err := h.SubscribeWith(c, room, o); err != nil {
					t.Errorf("Subscribe: %v", err)
				}
			}
			n.opens <- c
		},
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			if f := n.onMsg.Load(); f != nil {
				(*f)(c, typ, data)
			}
		},
		Close: func(c *engine.Conn, err error) {
			n.mu.Lock()
			n.closed = append(n.closed, c)
			n.mu.Unlock()
		},
	}
	ecfg := engine.DefaultConfig("127.0.0.1:0")
	ecfg.EventLoops = 2
	ecfg.TickInterval = 20 * time.Millisecond
	ecfg.CloseTimeout = time.Second
	ecfg.PingInterval = 0
	ecfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if tweak != nil {
		tweak(&ecfg)
	}
	srv, err := engine.New(ecfg, h.Handler(app))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	n.addr = srv.Addr()
	n.srv = srv
	if n.addr == "" {
		cancel()
		t.Fatalf("server did not start: %v", <-errc)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop within 15s")
		}
		_ = h.Close()
	})
	return n
}

// join dials a client into rooms and waits for its server-side Conn.
func (n *node) join(t testing.TB, rooms ...string) (*wstest.Client, *engine.Conn) {
	t.Helper()
	return n.joinWithin(t, 5*time.Second, rooms...)
}

// joinWithin is join with d for the handshake and for OnOpen.
func (n *node) joinWithin(t testing.TB, d time.Duration, rooms ...string) (*wstest.Client, *engine.Conn) {
	t.Helper()
	q := url.Values{"room": rooms}
	c, err := wstest.Dial(n.addr, &wstest.DialOptions{Path: "/?" + q.Encode(), Timeout: d})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	select {
	case sc := <-n.opens:
		return c, sc
	case <-time.After(d):
		t.Fatalf("OnOpen not called within %v", d)
		return nil, nil
	}
}

func expectMessage(t testing.TB, c *wstest.Client, op ws.OpCode, want string) {
	t.Helper()
	gotOp, p, err := c.ReadMessage(5 * time.Second)
	if err != nil {
		t.Fatalf("read: %v (want %q)", err, want)
	}
	if gotOp != op || string(p) != want {
		t.Fatalf("got %v %q, want %v %q", gotOp, p, op, want)
	}
}

func expectSilence(t testing.TB, c *wstest.Client) {
	t.Helper()
	if err := c.ExpectSilence(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or 5s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// onLoop runs fn on c's loop and waits for it.
func onLoop(t testing.TB, c *engine.Conn, fn func()) {
	t.Helper()
	done := make(chan struct{})
	if err := c.Loop().Execute(func() { fn(); close(done) }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("loop task did not run within 5s")
	}
}
