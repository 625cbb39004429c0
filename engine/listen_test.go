package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// runServer starts a server on addr and returns it with the channel Run's
// result arrives on; it is stopped at the end of the test.
func runServer(t *testing.T, addr string, share bool, opened *atomic.Int64) (*Server, <-chan error) {
	t.Helper()
	cfg := DefaultConfig(addr)
	cfg.EventLoops = 1
	cfg.ShareAddr = share
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(cfg, Handlers{Open: func(*Conn) {
		if opened != nil {
			opened.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return srv, runInBackground(t, srv)
}

// runInBackground runs srv until the test ends and returns what Run
// returns.
func runInBackground(t *testing.T, srv *Server) <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-srv.Done():
		case <-time.After(15 * time.Second):
			t.Error("server did not stop within 15s")
		}
	})
	return errc
}

// runResult waits for Run to return, or reports nil after a short while if
// it is still running.
func runResult(t *testing.T, errc <-chan error) (err error, returned bool) {
	t.Helper()
	select {
	case err := <-errc:
		return err, true
	case <-time.After(700 * time.Millisecond): // the guard stops a server within gnet's 500ms poll
		return nil, false
	}
}

func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestListenAddrInUse(t *testing.T) {
	tests := []struct {
		name        string
		holder      string // "server", "plain": what listens first
		holderShare bool
		second      string // "same" or "wildcard" (":port", IPv4 and IPv6)
		share       bool
		wantInUse   bool
	}{
		{"second server fails", "server", false, "same", false, true},
		{"second server on the wildcard fails", "server", false, "wildcard", false, true},
		{"sharing server does not let a non-sharing one in", "server", true, "same", false, true},
		{"sharing server joins a non-sharing one (restart)", "server", false, "same", true, false},
		{"plain listener blocks startup", "plain", false, "same", false, true},
		{"plain listener blocks a sharing server", "plain", false, "same", true, true},
		{"both sharing: both serve", "server", true, "same", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.wantInUse && runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
				t.Skip("SO_REUSEPORT sharing needs Linux or FreeBSD")
			}
			addr := freeLoopbackPort(t)
			var first, second atomic.Int64
			switch tt.holder {
			case "plain":
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
			case "server":
				srv, _ := runServer(t, addr, tt.holderShare, &first)
				if srv.Addr() == "" {
					t.Fatal("first server did not start")
				}
			}
			addr2 := addr
			if tt.second == "wildcard" {
				_, port, _ := net.SplitHostPort(addr)
				addr2 = ":" + port
			}
			_, errc := runServer(t, addr2, tt.share, &second)
			err, returned := runResult(t, errc)
			if tt.wantInUse {
				if !returned || !errors.Is(err, syscall.EADDRINUSE) {
					t.Fatalf("Run = %v (returned %v), want an error wrapping EADDRINUSE", err, returned)
				}
				t.Logf("Run: %v", err)
				return
			}
			if returned {
				t.Fatalf("Run returned %v, want it serving", err)
			}
			// Both in one SO_REUSEPORT group: the kernel spreads new
			// connections by their 4-tuple, so a few dozen reach both.
			for i := 0; i < 200 && (first.Load() == 0 || second.Load() == 0); i++ {
				c, err := wstest.Dial(addr, &wstest.DialOptions{Timeout: 2 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				_ = c.Close()
			}
			if first.Load() == 0 || second.Load() == 0 {
				t.Fatalf("connections: first %d, second %d; want both > 0", first.Load(), second.Load())
			}
		})
	}
}

// A restarted server binds again at once although the connections it
// closed itself linger in TIME_WAIT.
func TestListenRestartAfterClose(t *testing.T) {
	addr := freeLoopbackPort(t)
	cfg := DefaultConfig(addr)
	cfg.EventLoops = 1
	cfg.ShutdownTimeout = 300 * time.Millisecond // the raw clients never answer the close
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(cfg, Handlers{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	if srv.Addr() == "" {
		t.Fatalf("server did not start: %v", <-errc)
	}
	for range 4 {
		c, err := wstest.Dial(addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	cancel() // close 1001 to each client; the server closes TCP first
	if err := <-errc; err != nil {
		t.Fatalf("first Run: %v", err)
	}
	_, errc2 := runServer(t, addr, false, nil)
	if err, returned := runResult(t, errc2); returned {
		t.Fatalf("restart: Run = %v", err)
	}
}

func TestShareAddrNeedsReusePort(t *testing.T) {
	cfg := DefaultConfig("127.0.0.1:0")
	cfg.ReusePort = false
	cfg.ShareAddr = true
	if _, err := New(cfg, Handlers{}); err == nil {
		t.Fatal("New accepted ShareAddr without ReusePort")
	}
}
