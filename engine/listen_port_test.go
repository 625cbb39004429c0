package engine

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// hookedServer runs a server whose resolved addresses go through hook
// (called on Run's goroutine, once per start attempt) before the probes
// and gnet's bind. noHold makes port 0 picked and released, the path
// taken where a port cannot be held.
func hookedServer(t *testing.T, tweak func(*Config), noHold bool, hook func(attempt int, ls *listenSet)) (*Server, <-chan error) {
	t.Helper()
	cfg := DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 2
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := New(cfg, newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	srv.testNoHold = noHold
	attempt := 0
	srv.testAfterResolve = func(ls *listenSet) {
		attempt++
		hook(attempt, ls)
	}
	return srv, runInBackground(t, srv)
}

// occupy listens on addr (no SO_REUSEPORT) until the test ends.
func occupy(t *testing.T, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		t.Cleanup(func() { _ = ln.Close() })
	}
	return err
}

// echoOnce checks that a WebSocket on addr (TLS when secure) is served.
func echoOnce(t *testing.T, addr string, secure bool) {
	t.Helper()
	opts := &wstest.DialOptions{Timeout: 5 * time.Second}
	if secure {
		opts.TLS = clientTLS(t, 0)
	}
	c, err := wstest.Dial(addr, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.WriteText("x"); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.ReadMessage(5 * time.Second); err != nil || string(got) != "x" {
		t.Fatalf("echo on %s: %q %v", addr, got, err)
	}
}

// withTLSAddr serves TLS on a second address, port 0.
func withTLSAddr(t testing.TB, c *Config) {
	c.TLS = cert(t).ServerConfig()
	c.TLSAddr = "127.0.0.1:0"
}

// Where a port cannot be held, a port picked for port 0 that another socket
// takes before gnet binds it is replaced by a fresh one, for Addr and
// TLSAddr alike, whether the probe or gnet's bind runs into it.
func TestListenPortRetry(t *testing.T) {
	cert(t)
	tests := []struct {
		name  string
		tls   bool // take TLSAddr's port rather than Addr's
		share bool // no probe: gnet's bind fails
		taken int  // attempts whose port is taken
		want  int  // attempts made; 0: Run fails
	}{
		{"Addr, probe", false, false, 1, 2},
		{"Addr, gnet bind", false, true, 1, 2},
		{"TLSAddr, probe", true, false, 1, 2},
		{"Addr taken twice", false, false, 2, 3},
		{"Addr taken every time", false, false, listenAttempts, 0},
		// TLSAddr taken with the probe off is not run: gnet v2.10.0
		// leaves the Addr listener it created open when the TLSAddr
		// bind fails (createListeners).
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var taken []string
			var last *listenSet
			attempts := 0
			srv, errc := hookedServer(t, func(c *Config) {
				if tt.tls {
					withTLSAddr(t, c)
				}
				c.ShareAddr = tt.share
			}, true, func(attempt int, ls *listenSet) {
				mu.Lock()
				defer mu.Unlock()
				attempts, last = attempt, ls
				if attempt > tt.taken {
					return
				}
				a := ls.addrs[len(ls.addrs)-1].addr
				if err := occupy(t, a); err != nil {
					t.Errorf("occupying %s: %v", a, err)
				}
				taken = append(taken, a)
			})
			addr, taddr := srv.Addr(), srv.TLSAddr()
			if tt.want == 0 {
				err := <-errc
				mu.Lock()
				defer mu.Unlock()
				if addr != "" || !errors.Is(err, syscall.EADDRINUSE) || attempts != listenAttempts {
					t.Fatalf("Addr %q, Run = %v after %d attempts; want \"\", EADDRINUSE after %d", addr, err, attempts, listenAttempts)
				}
				t.Logf("Run: %v", err)
				return
			}
			if addr == "" {
				t.Fatalf("server did not start: %v", <-errc)
			}
			mu.Lock()
			got := last.addrs[len(last.addrs)-1].addr
			if attempts != tt.want {
				t.Errorf("%d attempts, want %d", attempts, tt.want)
			}
			for _, a := range taken {
				if a == got {
					t.Errorf("serving on %s, which another socket took", a)
				}
			}
			mu.Unlock()
			serving := addr
			if tt.tls {
				serving = taddr
			}
			if serving != got {
				t.Fatalf("serving on %s, Addr()/TLSAddr() report %s", got, serving)
			}
			echoOnce(t, addr, false)
			if tt.tls {
				echoOnce(t, taddr, true)
			}
		})
	}
}

// A fixed port in use is never swapped for another: Run fails at once with
// an error naming the address and wrapping EADDRINUSE. So does a port-0
// address beside a fixed one (retrying would rebind the fixed port).
func TestListenPortFixedInUse(t *testing.T) {
	cert(t)
	tests := []struct {
		name   string
		share  bool
		tlsRun bool // Addr fixed and free, TLSAddr port 0 and taken
	}{
		{"probe", false, false},
		{"gnet bind", true, false},
		{"port 0 beside a fixed port", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			busy := freeLoopbackPort(t)
			if !tt.tlsRun {
				if err := occupy(t, busy); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			attempts := 0
			var want string
			srv, errc := hookedServer(t, func(c *Config) {
				c.Addr = busy
				c.ShareAddr = tt.share
				if tt.tlsRun {
					withTLSAddr(t, c)
				}
			}, true, func(attempt int, ls *listenSet) {
				mu.Lock()
				defer mu.Unlock()
				attempts = attempt
				want = busy
				if tt.tlsRun {
					want = ls.addrs[1].addr
					if err := occupy(t, want); err != nil {
						t.Errorf("occupying %s: %v", want, err)
					}
				}
			})
			if a := srv.Addr(); a != "" {
				t.Fatalf("Addr = %q, want \"\"", a)
			}
			err := <-errc
			mu.Lock()
			defer mu.Unlock()
			if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), want) || attempts != 1 {
				t.Fatalf("Run = %v after %d attempts; want EADDRINUSE naming %s after 1", err, attempts, want)
			}
			t.Logf("Run: %v", err)
		})
	}
}
