package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/region"
)

// Server serves WebSocket connections on gnet event loops.
type Server struct {
	cfg     Config
	handler Handler
	decCfg  codec.DecoderConfig
	logger  *slog.Logger

	eng     gnet.Engine
	addr    string // resolved listen address
	tlsAddr string // resolved TLS listen address (Config.TLSAddr set)
	ceiling int    // most connections held at once
	booted  chan struct{}
	done    chan struct{}
	runErr  error

	loopsMu sync.Mutex
	loops   atomic.Pointer[[]*loop]

	pump         *pump // write poller for large writes; nil where unsupported
	admission    admission
	live         atomic.Int64
	nextID       atomic.Uint64
	started      atomic.Bool
	shuttingDown atomic.Bool
	// pendingUpgrades counts deferred upgrade decisions not yet answered
	// or cancelled (defer.go), against Config.MaxPendingUpgrades.
	pendingUpgrades atomic.Int64
	stopOnce        sync.Once

	mount mountState // connections handed over by net/http (nethttp.go)

	tls *tlsServer // nil without Config.TLS (tls_handshake.go)

	// Test hooks, unset in production (listen_port.go).
	testNoHold       bool                // pick port 0 and release it, as where it cannot be held
	testAfterResolve func(ls *listenSet) // runs once port 0 is resolved, before the probes
}

// New checks cfg and returns a server that will call h. Nothing listens
// until Run.
func New(cfg Config, h Handler) (*Server, error) {
	if h == nil {
		return nil, errors.New("engine: nil Handler")
	}
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		handler: h,
		logger:  cfg.Logger,
		booted:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.pump = newPump()
	if cfg.TLS != nil {
		s.tls = newTLSServer(&cfg)
	}
	s.decCfg = codec.DecoderConfig{
		MaxMessageSize: cfg.MaxMessageSize,
		Budget:         codec.NewBudget(cfg.InboundBudget),
	}
	// Messages past 64 KiB go to a region reserved at the message limit,
	// whose pages are committed as bytes arrive.
	if p := region.ForLimit(cfg.MaxMessageSize, codec.SmallMessageMax); p != nil {
		s.decCfg.Large = p
	}
	empty := []*loop{}
	s.loops.Store(&empty)
	return s, nil
}

// Run listens and serves until ctx ends (then it shuts down gracefully
// within Config.ShutdownTimeout) or Shutdown is called. It returns nil after
// a graceful stop.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("engine: Run called twice")
	}
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(s.cfg.EventLoops),
		gnet.WithReusePort(s.cfg.ReusePort),
		gnet.WithReuseAddr(true), // TIME_WAIT leftovers do not block a restart
		gnet.WithTicker(true),
		// Least-connections is safe for Engine.Register from many goroutines
		// (connections handed over by net/http); with ReusePort it is unused
		// for accepted ones.
		gnet.WithLoadBalancing(gnet.LeastConnections),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReadBufferCap(s.cfg.ReadBufferSize),
		gnet.WithLogger(gnetLogger{s.logger}),
	}
	if n := s.cfg.SocketSendBuffer; n > 0 {
		opts = append(opts, gnet.WithSocketSendBuffer(n))
	}
	var guard func() error
	var err error
	for attempt := 1; ; attempt++ {
		var ls *listenSet
		ls, err = s.prepareListen() // resolve port 0, probe (listen_port.go)
		if err == nil {
			if guard == nil {
				s.ceiling = fdCeiling(s.cfg)
				go s.stopOnDone(ctx)
				guard = s.guardAddr() // reads s.addr once booted: the last attempt's
			}
			err = gnet.Rotate(&events{s: s}, ls.gnetAddrs(), opts...)
			ls.release() // gnet's listeners have the ports now, or they are not needed
			if err != nil && !s.isBooted() {
				// gnet's bind error names no address
				err = fmt.Errorf("engine: listen %s: %w", ls, err)
			}
		}
		// A port picked for port 0 taken before gnet bound it (where it
		// cannot be held): start again on fresh ones.
		if s.isBooted() || !retryListen(ls, err, attempt) {
			break
		}
	}
	if guard == nil { // never got as far as gnet
		close(s.booted)
		close(s.done)
		return err
	}
	select {
	case <-s.booted:
	default:
		close(s.booted) // failed before boot: unblock Addr
	}
	if gerr := guard(); gerr != nil && err == nil {
		err = gerr
	}
	s.pump.close()
	s.runErr = err
	close(s.done)
	return err
}

// stopOnDone shuts the server down gracefully when ctx ends.
func (s *Server) stopOnDone(ctx context.Context) {
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		_ = s.Shutdown(sctx)
		cancel()
	case <-s.done:
	}
}

// isBooted reports whether gnet started serving (OnBoot ran).
func (s *Server) isBooted() bool {
	select {
	case <-s.booted:
		return true
	default:
		return false
	}
}

// Addr waits until the server listens and returns its address (useful with
// port 0). It returns "" if Run failed before listening.
func (s *Server) Addr() string {
	<-s.booted
	if s.eng.Validate() != nil {
		return ""
	}
	return s.addr
}

// MaxConns reports the connection ceiling in force (after Run started).
func (s *Server) MaxConns() int { return s.ceiling }

// Shutdown stops accepting upgrades, sends close 1001 (Going Away) to every
// connection, waits for the peers' close frames until ctx ends, then closes
// what is left and stops the loops. It returns ctx.Err() when the deadline
// cut the wait short.
func (s *Server) Shutdown(ctx context.Context) error {
	select {
	case <-s.booted:
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	s.shuttingDown.Store(true)
	for _, l := range s.loopList() {
		l := l
		_ = l.execute(func() {
			for c := l.head; c != nil; {
				next := c.next
				if c.state == stateHandshake {
					l.abort(c, &CloseError{Code: codec.CloseGoingAway, Err: ErrServerClosed})
				} else {
					_ = l.startClose(c, codec.CloseGoingAway, "server shutting down", ErrServerClosed)
				}
				c = next
			}
		})
	}
	var waitErr error
	tick := time.NewTicker(5 * time.Millisecond)
	for s.live.Load() > 0 && waitErr == nil {
		select {
		case <-ctx.Done():
			waitErr = ctx.Err()
		case <-s.done:
			return nil
		case <-tick.C:
		}
	}
	tick.Stop()
	s.stopOnce.Do(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.eng.Stop(sctx)
	})
	<-s.done
	return waitErr
}

// Done is closed when Run has returned.
func (s *Server) Done() <-chan struct{} { return s.done }

// loopOf returns the engine state of a gnet loop, creating it on first use.
func (s *Server) loopOf(el gnet.EventLoop) *loop {
	for _, l := range *s.loops.Load() {
		if l.el == el {
			return l
		}
	}
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	old := *s.loops.Load()
	for _, l := range old {
		if l.el == el {
			return l
		}
	}
	l := newLoop(s, el)
	next := append(append([]*loop(nil), old...), l)
	s.loops.Store(&next)
	return l
}

func (s *Server) loopList() []*loop { return *s.loops.Load() }

// logOnce logs a connection-level event; callers reach it at most once per
// connection (on rejection or on close).
func (s *Server) logOnce(c *Conn, msg string, args ...any) {
	if !s.logger.Enabled(context.Background(), slog.LevelInfo) {
		return // e.g. a peer's reset, per connection: not worth the arguments
	}
	if c != nil {
		args = append(args, "conn", c.id, "remote", addrString(c.remote))
	}
	s.logger.Info(msg, args...)
}

func (s *Server) logPanic(c *Conn, r any) {
	args := []any{"panic", fmt.Sprint(r), "stack", string(debug.Stack())}
	if c != nil {
		args = append(args, "conn", c.id, "remote", addrString(c.remote))
	}
	s.logger.Error("websocket handler panicked", args...)
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
