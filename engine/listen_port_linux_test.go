package engine

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bindBare binds a socket with no options to addr (an IPv4 host:port) and
// closes it: what an ordinary socket that wants the port gets.
func bindBare(addr string) error {
	ta, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To4())
	return unix.Bind(fd, sa)
}

// On Linux the port picked for port 0 is held from the pick until Run
// returns: nothing else binds it before gnet does, and the server comes up
// on it, for Addr and TLSAddr alike.
func TestListenPortHeld(t *testing.T) {
	tests := []struct {
		name      string
		reusePort bool
		listen    bool // net.Listen (SO_REUSEADDR) fails there too
	}{
		// Held with SO_REUSEPORT: only a same-user SO_REUSEPORT socket
		// may join, which the guard catches (listen.go).
		{"ReusePort", true, true},
		// Held with SO_REUSEADDR so gnet's single listener can bind: a
		// bind(0) or connect() never picks the port, and a bare bind
		// fails, but a SO_REUSEADDR listener could bind it on purpose
		// (then gnet's bind fails and Run retries, TestListenPortRetry).
		{"single acceptor", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var picked []string
			var errs []error
			srv, errc := hookedServer(t, func(c *Config) {
				withTLSAddr(t, c)
				c.ReusePort = tt.reusePort
			}, false, func(_ int, ls *listenSet) {
				mu.Lock()
				defer mu.Unlock()
				for _, a := range ls.addrs {
					if a.release == nil {
						t.Errorf("%s not held", a.addr)
					}
					picked = append(picked, a.addr)
					errs = append(errs, bindBare(a.addr))
					if tt.listen {
						errs = append(errs, occupy(t, a.addr))
					}
				}
			})
			addr, taddr := srv.Addr(), srv.TLSAddr()
			if addr == "" {
				t.Fatalf("server did not start: %v", <-errc)
			}
			mu.Lock()
			if len(picked) != 2 || picked[0] != addr || picked[1] != taddr {
				t.Fatalf("picked %v, serving on %s and %s", picked, addr, taddr)
			}
			for _, err := range errs {
				if !errors.Is(err, syscall.EADDRINUSE) {
					t.Fatalf("binding a held port: %v, want EADDRINUSE", err)
				}
			}
			mu.Unlock()
			// The held socket never listens, so no connection waits on it:
			// every one of these is accepted and served by a loop.
			for i := 0; i < 20; i++ {
				echoOnce(t, addr, false)
			}
			echoOnce(t, taddr, true)
			// Run releases the ports when it returns.
			ctx, cancel := contextWithTimeout(10 * time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			<-srv.Done()
			for _, a := range []string{addr, taddr} {
				if err := occupy(t, a); err != nil {
					t.Fatalf("%s still held after Run returned: %v", a, err)
				}
			}
		})
	}
}
