package client

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
)

// startServer runs an engine server on 127.0.0.1:0 until the test ends.
func startServer(t testing.TB, cfg engine.Config, h engine.Handler) (*engine.Server, string) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
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
	return srv, addr
}

func echoServer(t testing.TB, mod func(*engine.Config)) (*engine.Server, string) {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 2
	if mod != nil {
		mod(&cfg)
	}
	return startServer(t, cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
	})
}

// newClient makes a Client closed when the test ends.
func newClient(t testing.TB) *Client {
	t.Helper()
	cl, err := New(Config{EventLoops: 2, TickInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = cl.Close(ctx)
	})
	return cl
}

// recorder is a Handler that records what happens, for assertions.
type recorder struct {
	mu       sync.Mutex
	msgs     []string
	types    []MessageType
	opened   int
	closeErr error
	msgCh    chan string
	closeCh  chan error
	onOpen   func(c *Conn)
}

func newRecorder() *recorder {
	return &recorder{msgCh: make(chan string, 1024), closeCh: make(chan error, 1)}
}

func (r *recorder) OnOpen(c *Conn) {
	r.mu.Lock()
	r.opened++
	r.mu.Unlock()
	if r.onOpen != nil {
		r.onOpen(c)
	}
}

func (r *recorder) OnMessage(c *Conn, typ MessageType, data []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, string(data))
	r.types = append(r.types, typ)
	r.mu.Unlock()
	select {
	case r.msgCh <- string(data):
	default:
	}
}

func (r *recorder) OnClose(c *Conn, err error) {
	r.mu.Lock()
	r.closeErr = err
	r.mu.Unlock()
	r.closeCh <- err
}

func (r *recorder) next(t testing.TB) string {
	t.Helper()
	select {
	case m := <-r.msgCh:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return ""
}

func (r *recorder) closed(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.closeCh:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("no OnClose within 15s")
	}
	return nil
}

func ctx10(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
