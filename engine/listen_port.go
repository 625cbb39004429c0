package engine

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// Port 0 in Config.Addr or Config.TLSAddr means "any free port". gnet cannot
// bind port 0 itself: with ReusePort every event loop binds its own listener
// and all of them must share one concrete port. So Run picks the port first,
// and another socket must not take it before gnet binds it (a connect()
// elsewhere on the host, or another server's port-0 pick, once made a test
// fail with "bind: address already in use"):
//
//   - Where it can (Linux), Run holds the port: a socket bound to host:0,
//     never listening, keeps the kernel's pick reserved until Run returns.
//     Nothing but gnet's own listeners can bind there meanwhile (see
//     holdPort), and, not listening, the holding socket is never handed a
//     connection.
//   - Elsewhere (or if the hold fails) the port is picked by listening on
//     port 0 and closing that listener, and a start that then fails with
//     EADDRINUSE before serving is retried on fresh ports, up to
//     listenAttempts times in all. That is done only when every address
//     asked for port 0: a fixed port in use fails at once with its error.

// listenAttempts bounds the starts Run tries on fresh ports.
const listenAttempts = 3

// errNoHold: holding a port is not supported here; pick and release.
var errNoHold = errors.New("engine: holding a port is not supported")

// listenAddr is one address gnet binds.
type listenAddr struct {
	addr    string // host:port, port 0 resolved
	auto    bool   // the configuration asked for port 0
	release func() // closes the socket holding the port; nil if not held
}

// resolveAddr turns port 0 into a concrete free port, held until release
// where possible (hold false: picked and released at once, as on platforms
// that cannot hold).
func resolveAddr(addr string, hold, reusePort bool) (listenAddr, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return listenAddr{}, fmt.Errorf("engine: Addr %q: %w", addr, err)
	}
	if port != "0" && port != "" {
		return listenAddr{addr: addr}, nil
	}
	if hold {
		held, release, err := holdPort(host, reusePort)
		if err == nil {
			return listenAddr{addr: held, auto: true, release: release}, nil
		}
		// fall back to picking and releasing
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return listenAddr{}, fmt.Errorf("engine: finding a free port: %w", err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return listenAddr{addr: net.JoinHostPort(host, strconv.Itoa(p)), auto: true}, nil
}

// listenSet is what one start attempt binds: Addr, then TLSAddr if set.
type listenSet struct {
	addrs []listenAddr
}

// gnetAddrs returns the addresses in gnet's form.
func (ls *listenSet) gnetAddrs() []string {
	out := make([]string, len(ls.addrs))
	for i, a := range ls.addrs {
		out[i] = "tcp://" + a.addr
	}
	return out
}

// String lists the addresses, for errors.
func (ls *listenSet) String() string {
	s := ""
	for i, a := range ls.addrs {
		if i > 0 {
			s += ", "
		}
		s += a.addr
	}
	return s
}

// allAuto reports whether every address asked for port 0, so that a busy
// one may be replaced: a fixed port is never swapped for another, and gnet
// leaves a listener it created open when a later one fails (createListeners
// in v2.10.0), which a retry on the same fixed port would join.
func (ls *listenSet) allAuto() bool {
	for _, a := range ls.addrs {
		if !a.auto {
			return false
		}
	}
	return len(ls.addrs) > 0
}

// release closes the sockets holding ports.
func (ls *listenSet) release() {
	for _, a := range ls.addrs {
		if a.release != nil {
			a.release()
		}
	}
}

// prepareListen resolves Addr and TLSAddr for one start attempt, sets
// s.addr, s.tlsAddr and the TLS port, and runs the probes (listen.go). On
// error nothing stays held; the set is returned with it, for allAuto.
func (s *Server) prepareListen() (*listenSet, error) {
	ls := &listenSet{}
	hold := !s.testNoHold
	a, err := resolveAddr(s.cfg.Addr, hold, s.cfg.ReusePort)
	if err != nil {
		return ls, err
	}
	ls.addrs = append(ls.addrs, a)
	if s.cfg.TLSAddr != "" {
		ta, err := resolveAddr(s.cfg.TLSAddr, hold, s.cfg.ReusePort)
		if err != nil {
			ls.release()
			return ls, err
		}
		ls.addrs = append(ls.addrs, ta)
	}
	if s.testAfterResolve != nil {
		s.testAfterResolve(ls)
	}
	if err := s.claimAddrs(ls); err != nil {
		ls.release()
		return ls, err
	}
	s.addr = ls.addrs[0].addr
	if len(ls.addrs) > 1 {
		s.tlsAddr = ls.addrs[1].addr
		_, p, _ := net.SplitHostPort(s.tlsAddr)
		s.tls.port, _ = strconv.Atoi(p)
	}
	return ls, nil
}

// claimAddrs checks the resolved addresses before gnet binds them: TLSAddr
// must differ from Addr, and, unless sharing, nothing may listen on either
// (probeAddr). A held port skips the probe: the kernel picked it free and
// nothing but a same-user SO_REUSEPORT socket can bind it while held, which
// the guard catches after boot.
func (s *Server) claimAddrs(ls *listenSet) error {
	if len(ls.addrs) > 1 && ls.addrs[1].addr == ls.addrs[0].addr {
		return errors.New("engine: TLSAddr is the same as Addr")
	}
	if s.cfg.ShareAddr || !probeBeforeBind {
		return nil
	}
	// TLSAddr first, as before: its error wins when both are busy.
	for i := len(ls.addrs) - 1; i >= 0; i-- {
		if a := ls.addrs[i]; a.release == nil {
			if err := probeAddr(a.addr); err != nil {
				return err
			}
		}
	}
	return nil
}

// retryListen reports whether a start attempt that failed with err, before
// serving, is tried again on fresh ports.
func retryListen(ls *listenSet, err error, attempt int) bool {
	return err != nil && attempt < listenAttempts && ls.allAuto() && errors.Is(err, syscall.EADDRINUSE)
}
