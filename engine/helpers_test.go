package engine

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// recorder is a Handler that echoes and records what happened.
type recorder struct {
	mu      sync.Mutex
	opened  []*Conn
	closes  chan *CloseError
	opens   chan *Conn
	onMsg   func(c *Conn, typ MessageType, data []byte)
	noEcho  bool
	msgSeen chan []byte
}

func newRecorder() *recorder {
	return &recorder{closes: make(chan *CloseError, 1024), opens: make(chan *Conn, 1024), msgSeen: make(chan []byte, 1024)}
}

func (r *recorder) OnOpen(c *Conn) {
	r.mu.Lock()
	r.opened = append(r.opened, c)
	r.mu.Unlock()
	r.opens <- c
}

func (r *recorder) OnMessage(c *Conn, typ MessageType, data []byte) {
	if r.onMsg != nil {
		r.onMsg(c, typ, data)
		return
	}
	select {
	case r.msgSeen <- append([]byte(nil), data...):
	default:
	}
	if !r.noEcho {
		_ = c.WriteMessage(typ, data)
	}
}

func (r *recorder) OnClose(c *Conn, err error) {
	ce, _ := err.(*CloseError)
	r.closes <- ce
}

func (r *recorder) nextClose(t *testing.T) *CloseError {
	t.Helper()
	select {
	case ce := <-r.closes:
		return ce
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose not called within 5s")
		return nil
	}
}

func (r *recorder) nextOpen(t *testing.T) *Conn {
	t.Helper()
	select {
	case c := <-r.opens:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("OnOpen not called within 5s")
		return nil
	}
}

// startServer runs a server on a free loopback port for the test's life.
func startServer(t testing.TB, h Handler, tweak func(*Config)) (*Server, string) {
	t.Helper()
	cfg := DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 2
	cfg.TickInterval = 20 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	addr := srv.Addr()
	if addr == "" {
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
	})
	return srv, addr
}

func dial(t testing.TB, addr string, opts *wstest.DialOptions) *wstest.Client {
	t.Helper()
	c, err := wstest.Dial(addr, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func dialRaw(t testing.TB, addr string) *wstest.Client {
	t.Helper()
	c, err := wstest.DialRaw(addr, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor polls cond until it holds or 5s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const upgradeRequest = "GET /chat?room=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func dialErr(addr string) (*wstest.Client, error) {
	c, err := wstest.Dial(addr, &wstest.DialOptions{Timeout: time.Second})
	if err == nil {
		_ = c.Close()
	}
	return c, err
}
