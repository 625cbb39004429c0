package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Every event loop listens on its own SO_REUSEPORT socket, and the kernel
// lets any other socket with SO_REUSEPORT (same user) join that group: a
// second process started on a busy address would come up silently and take
// a share of new connections. So, unless Config.ShareAddr asks for sharing:
//
//  1. Before gnet binds, a probe listens on the very address, family and
//     IPV6_V6ONLY setting gnet will use, without SO_REUSEPORT (with
//     SO_REUSEADDR, as net.Listen does, so a previous instance's TIME_WAIT
//     connections do not count). Anything listening there, sharer or not,
//     makes it fail with EADDRINUSE, and Run returns that error. A port
//     Run picked for port 0 and holds until gnet binds it is not probed
//     (listen_port.go): nothing can listen there but a sharer, step 2.
//  2. A socket bound between the probe's close and gnet's bind (a race of
//     microseconds) is caught after boot where the platform lets us list
//     listening sockets (Linux: /proc/net/tcp*): a listener on the port that
//     overlaps ours and belongs to another process stops the server with
//     EADDRINUSE. Of two instances racing, the later binder always sees the
//     earlier one; at worst both stop, never both serve.

// errSharedAddr is the error Run returns when another process turned out to
// listen on the address after the probe.
func errSharedAddr(addr string) error {
	return fmt.Errorf("engine: listen %s: another process listens on the same port with SO_REUSEPORT (set Config.ShareAddr to share on purpose): %w", addr, syscall.EADDRINUSE)
}

// listenFamily returns the network ("tcp4", "tcp6" with IPV6_V6ONLY, or
// "tcp" dual-stack) and resolved address gnet binds for addr: the same rule
// as gnet's socket.GetTCPSockAddr, so the probe conflicts exactly where
// gnet's bind would.
func listenFamily(addr string) (string, *net.TCPAddr, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	switch {
	case ta.IP.To4() != nil:
		return "tcp4", ta, nil
	case ta.IP.To16() != nil:
		return "tcp6", ta, nil
	}
	return "tcp", ta, nil
}

// probeAddr fails with an error wrapping syscall.EADDRINUSE when something
// listens on addr (a resolved host:port).
func probeAddr(addr string) error {
	network, ta, err := listenFamily(addr)
	if err != nil {
		return fmt.Errorf("engine: Addr %q: %w", addr, err)
	}
	ln, err := net.Listen(network, ta.String())
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			if found, known := anyListener(network, ta); known && !found {
				// Only connections in TIME_WAIT, left by a previous
				// instance whose sockets lacked SO_REUSEADDR: they block
				// the probe but not gnet's SO_REUSEPORT bind.
				return nil
			}
			return fmt.Errorf("engine: %w (set Config.ShareAddr to share the port with another process on purpose)", err)
		}
		return fmt.Errorf("engine: %w", err)
	}
	return ln.Close()
}

// probeBeforeBind is cleared by tests that exercise the guard alone.
var probeBeforeBind = true

// guardAddr watches for a listener that slipped in between the probe and
// gnet's bind (step 2 above). It returns a function Run calls after gnet
// returns, which reports the error that stopped the server, if any.
func (s *Server) guardAddr() func() error {
	if s.cfg.ShareAddr {
		return func() error { return nil }
	}
	res := make(chan error, 1)
	go func() {
		<-s.booted
		if s.eng.Validate() != nil { // failed before boot
			res <- nil
			return
		}
		network, ta, err := listenFamily(s.addr)
		if err != nil {
			res <- nil
			return
		}
		foreign, err := foreignListener(network, ta)
		// Listeners close only after shuttingDown is set: one closing
		// while it looked was ours, not a foreign one.
		if err != nil || !foreign || s.shuttingDown.Load() {
			res <- nil
			return
		}
		res <- errSharedAddr(s.addr)
		s.stopOnce.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = s.eng.Stop(ctx)
		})
	}()
	return func() error { return <-res }
}
