package client

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/switchboard-ws/switchboard/internal/gid"
	"github.com/switchboard-ws/switchboard/internal/region"
)

// Config configures a Client's event loops.
type Config struct {
	// EventLoops is the number of event loops; 0: GOMAXPROCS (one per
	// CPU the runtime may use).
	EventLoops int
	// TickInterval is the granularity of heartbeats, close timeouts and
	// reconnect delays (one timer wheel per loop). 0: 250ms.
	TickInterval time.Duration
	// ReadBufferSize is the most bytes one read takes from a socket, into
	// a buffer each loop owns (not one per connection). 0: 64 KiB.
	ReadBufferSize int
	// Logger receives connection-level problems (a handler panic). nil:
	// slog.Default().
	Logger *slog.Logger
}

// DefaultTickInterval is the default Config.TickInterval.
const DefaultTickInterval = 250 * time.Millisecond

// Client owns event loops that serve client connections: one Client can
// hold tens of thousands of them, each costing about a kilobyte while idle
// (no goroutine, timer or buffer per connection). Make one with New, dial
// with a Dialer, and Close it when done. Most programs need only one; the
// Dialer's zero Client is the process-wide Default().
type Client struct {
	cfg    Config
	gcl    *gnet.Client
	ctx    context.Context // cancelled by Close: stops redials
	cancel context.CancelFunc

	loopsMu sync.Mutex
	loops   atomic.Pointer[[]*loop]

	live    atomic.Int64 // connections not yet closed for good
	closing atomic.Bool
	done    chan struct{}
	once    sync.Once
}

// New starts a Client's event loops and its ticker.
func New(cfg Config) (*Client, error) {
	if cfg.EventLoops <= 0 {
		cfg.EventLoops = runtime.GOMAXPROCS(0)
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = DefaultTickInterval
	}
	if cfg.ReadBufferSize <= 0 {
		cfg.ReadBufferSize = 64 << 10
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cl := &Client{cfg: cfg, done: make(chan struct{})}
	cl.ctx, cl.cancel = context.WithCancel(context.Background())
	empty := []*loop{}
	cl.loops.Store(&empty)
	gcl, err := gnet.NewClient(&events{cl: cl},
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(cfg.EventLoops),
		gnet.WithLoadBalancing(gnet.LeastConnections),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReadBufferCap(cfg.ReadBufferSize),
		gnet.WithLogger(nopLogger{}),
	)
	if err != nil {
		return nil, err
	}
	if err := gcl.Start(); err != nil {
		return nil, err
	}
	cl.gcl = gcl
	go cl.tick()
	return cl, nil
}

var (
	defaultOnce   sync.Once
	defaultClient *Client
	defaultErr    error
)

// Default returns the process-wide Client (started on first use with a
// zero Config, never closed), used by a Dialer whose Client is nil.
func Default() (*Client, error) {
	defaultOnce.Do(func() { defaultClient, defaultErr = New(Config{}) })
	return defaultClient, defaultErr
}

// tick advances every loop's timer wheel; the only goroutine a Client
// runs besides its loops.
func (cl *Client) tick() {
	t := time.NewTicker(cl.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-cl.done:
			return
		case <-t.C:
			for _, l := range *cl.loops.Load() {
				_ = l.post(task{kind: taskTick}, 0)
			}
			// Pages of large-message regions unused for a while go back
			// to the kernel (one atomic load when none are kept).
			region.Trim(region.DefaultIdle)
		}
	}
}

// loopOf returns the state of a gnet loop, creating it on first use.
func (cl *Client) loopOf(el gnet.EventLoop) *loop {
	for _, l := range *cl.loops.Load() {
		if l.el == el {
			return l
		}
	}
	cl.loopsMu.Lock()
	defer cl.loopsMu.Unlock()
	old := *cl.loops.Load()
	for _, l := range old {
		if l.el == el {
			return l
		}
	}
	l := newLoop(cl, el)
	next := append(append([]*loop(nil), old...), l)
	cl.loops.Store(&next)
	return l
}

// onLoop reports whether the caller runs on one of the client's loops.
func (cl *Client) onLoop() bool {
	id := gid.ID()
	for _, l := range *cl.loops.Load() {
		if id != 0 && l.goroutine.Load() == id {
			return true
		}
	}
	return false
}

// Conns returns the number of connections not yet closed for good
// (reconnecting ones included).
func (cl *Client) Conns() int { return int(cl.live.Load()) }

// Traffic returns the bytes the client's connections have read from and
// written to their sockets on the event loops since New: WebSocket frames,
// or TLS records for wss:// (TCP payload, not TCP/IP headers). The dial,
// the proxy's CONNECT, the TLS handshake and the HTTP upgrade run before a
// socket moves to a loop and are not counted; bytes read are counted once
// a frame (or record) is consumed, bytes written once handed to the
// socket (gnet may still hold some of them).
func (cl *Client) Traffic() (read, written int64) {
	for _, l := range *cl.loops.Load() {
		read += l.rx.Load()
		written += l.tx.Load()
	}
	return read, written
}

// Close closes every connection (close 1001, no reconnect), waits up to
// ctx for the servers' answers, then stops the loops. It returns ctx.Err()
// when the wait was cut short.
func (cl *Client) Close(ctx context.Context) error {
	var err error
	cl.once.Do(func() {
		cl.closing.Store(true)
		cl.cancel()
		for _, l := range *cl.loops.Load() {
			l := l
			_ = l.post(task{kind: taskFunc, fn: func() {
				for c := l.head; c != nil; {
					next := c.next
					l.closeFinal(c, 1001, "client closing", ErrClientClosed)
					c = next
				}
			}}, 0)
		}
		t := time.NewTicker(5 * time.Millisecond)
		for cl.live.Load() > 0 && err == nil {
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-t.C:
			}
		}
		t.Stop()
		close(cl.done)
		_ = cl.gcl.Stop()
	})
	return err
}

var errNotSyscallConn = errors.New("client: NetDialContext must return a *net.TCPConn or *net.UnixConn")

// nopLogger silences gnet's own logging; problems surface as errors.
type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Fatalf(string, ...any) {}
