package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// restartable runs engine servers one after another on one address.
type restartable struct {
	t    *testing.T
	addr string
	mk   func(addr string) (engine.Config, engine.Handler)
	srv  *engine.Server
}

func newRestartable(t *testing.T, mk func(addr string) (engine.Config, engine.Handler)) *restartable {
	r := &restartable{t: t, addr: "127.0.0.1:0", mk: mk}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) start() {
	cfg, h := r.mk(r.addr)
	srv, err := engine.New(cfg, h)
	if err != nil {
		r.t.Fatal(err)
	}
	go func() { _ = srv.Run(context.Background()) }()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Addr() == "" && time.Now().Before(deadline) {
		// A restart can find the port briefly busy: retry.
		time.Sleep(50 * time.Millisecond)
		srv, _ = engine.New(cfg, h)
		go func() { _ = srv.Run(context.Background()) }()
	}
	r.addr = srv.Addr()
	r.srv = srv
}

// stop shuts down gracefully: every connection gets close 1001.
func (r *restartable) stop() {
	if r.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	<-r.srv.Done()
	r.srv = nil
}

func echoConfig(addr string) (engine.Config, engine.Handler) {
	cfg := engine.DefaultConfig(addr)
	cfg.EventLoops = 1
	cfg.Logger = quietLogger()
	return cfg, engine.Handlers{Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) }}
}

func fastBackoff() Backoff {
	return Backoff{Initial: 100 * time.Millisecond, Multiplier: 2, Max: 400 * time.Millisecond}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	rs := newRestartable(t, echoConfig)
	var reconnects atomic.Int32
	retries := make(chan error, 100)
	rec := newRecorder()
	d := &Dialer{Client: newClient(t), Reconnect: &Reconnect{
		Backoff:     fastBackoff(),
		OnReconnect: func(c *Conn) { reconnects.Add(1); _ = c.WriteText([]byte("resubscribe")) },
		OnRetry:     func(c *Conn, err error, attempt int, delay time.Duration) { retries <- err },
	}}
	c, err := d.Dial(ctx10(t), "ws://"+rs.addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.WriteText([]byte("before"))
	if rec.next(t) != "before" {
		t.Fatal("echo")
	}
	rs.stop()
	select {
	case err := <-retries:
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != codec.CloseGoingAway || !ce.Remote {
			t.Fatalf("first retry after %v, want a 1001 from the server", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no retry scheduled after the server went away")
	}
	if c.Connected() {
		t.Fatal("Connected() during the outage")
	}
	if err := c.WriteText([]byte("lost")); err != ErrReconnecting {
		t.Fatalf("write while reconnecting: %v, want ErrReconnecting", err)
	}
	time.Sleep(500 * time.Millisecond) // some attempts fail: refused
	rs.start()
	if got := rec.next(t); got != "resubscribe" {
		t.Fatalf("first message after reconnect %q", got)
	}
	if reconnects.Load() != 1 || rec.opened != 1 {
		t.Fatalf("OnReconnect ran %d times, OnOpen %d", reconnects.Load(), rec.opened)
	}
	_ = c.WriteText([]byte("after"))
	if rec.next(t) != "after" {
		t.Fatal("echo after reconnect")
	}
	_ = c.Close(codec.CloseNormal, "")
	rec.closed(t)
}

func TestRetryDecisions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		code    codec.CloseCode // the server closes the first session with it
		status  int             // then answers redials with this status (0: accepts)
		retry   func(error) bool
		retries int // expected OnRetry calls before the end
		final   func(error) bool
	}{
		{name: "1008 is final", code: codec.ClosePolicyViolation, retries: 0,
			final: func(err error) bool { var ce *CloseError; return errors.As(err, &ce) && ce.Code == 1008 }},
		{name: "1001 then 401 is final", code: codec.CloseGoingAway, status: 401, retries: 1,
			final: func(err error) bool { var he *HandshakeError; return errors.As(err, &he) && he.Status == 401 }},
		{name: "1001 then 503 retries until MaxAttempts", code: codec.CloseGoingAway, status: 503, retries: 3,
			final: func(err error) bool { var he *HandshakeError; return errors.As(err, &he) && he.Status == 503 }},
		{name: "custom hook refuses 1001", code: codec.CloseGoingAway, retry: func(error) bool { return false }, retries: 0,
			final: func(err error) bool { var ce *CloseError; return errors.As(err, &ce) && ce.Code == 1001 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sessions atomic.Int32
			cfg := engine.DefaultConfig("127.0.0.1:0")
			cfg.Upgrade = func(r *engine.UpgradeRequest, resp *engine.UpgradeResponse) error {
				if sessions.Add(1) > 1 && tc.status != 0 {
					return &engine.HTTPError{Status: tc.status, Body: "no"}
				}
				return nil
			}
			_, addr := startServer(t, cfg, engine.Handlers{
				Message: func(c *engine.Conn, _ engine.MessageType, _ []byte) { _ = c.Close(tc.code, "bye") },
			})
			var retries atomic.Int32
			rec := newRecorder()
			d := &Dialer{Client: newClient(t), Reconnect: &Reconnect{
				Backoff: fastBackoff(), MaxAttempts: 3, Retry: tc.retry,
				OnRetry: func(*Conn, error, int, time.Duration) { retries.Add(1) },
			}}
			c, err := d.Dial(ctx10(t), "ws://"+addr+"/", rec)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.WriteText([]byte("x"))
			err = rec.closed(t)
			if !tc.final(err) {
				t.Fatalf("final error %v", err)
			}
			if int(retries.Load()) != tc.retries {
				t.Fatalf("%d retries, want %d", retries.Load(), tc.retries)
			}
			if !c.Closed() {
				t.Fatal("not Closed() after OnClose")
			}
		})
	}
}

func TestReconnectQueue(t *testing.T) {
	rs := newRestartable(t, echoConfig)
	rec := newRecorder()
	down := make(chan struct{}, 10)
	d := &Dialer{Client: newClient(t), Reconnect: &Reconnect{
		Backoff:    fastBackoff(),
		QueueBytes: 10,
		OnRetry:    func(*Conn, error, int, time.Duration) { down <- struct{}{} },
		OnReconnect: func(c *Conn) {
			_ = c.WriteText([]byte("hello again")) // goes before the queue
		},
	}}
	c, err := d.Dial(ctx10(t), "ws://"+rs.addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	rs.stop()
	<-down
	for _, m := range []string{"q1", "q2", "q3"} {
		if err := c.WriteText([]byte(m)); err != nil {
			t.Fatalf("queue %s: %v", m, err)
		}
	}
	if err := c.WriteText([]byte("too long!")); err != ErrQueueFull {
		t.Fatalf("over the bound: %v, want ErrQueueFull", err)
	}
	rs.start()
	for _, want := range []string{"hello again", "q1", "q2", "q3"} {
		if got := rec.next(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	_ = c.Close(codec.CloseNormal, "")
	rec.closed(t)
}

// A tiny server speaking the broadcast example's recovery protocol:
// messages {"offset":N,"epoch":"E","data":...}; a reconnect with
// since/epoch gets what it missed, or {"recovered":false,...} when the
// epoch changed.
type roomServer struct {
	mu      sync.Mutex
	epoch   string
	log     []string // messages of room "lobby", offset = index+1
	queries []string
}

func (s *roomServer) config(addr string) (engine.Config, engine.Handler) {
	cfg := engine.DefaultConfig(addr)
	cfg.EventLoops = 1
	cfg.Logger = quietLogger()
	cfg.KeepHeaders = nil
	return cfg, engine.Handlers{Open: func(c *engine.Conn) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.queries = append(s.queries, c.RawQuery())
		q, _ := url.ParseQuery(c.RawQuery())
		since := 0
		if q.Get("since") != "" {
			fmt.Sscan(q.Get("since"), &since)
			if q.Get("epoch") != s.epoch {
				_ = c.WriteText([]byte(fmt.Sprintf(`{"recovered":false,"epoch":%q,"offset":%d}`, s.epoch, len(s.log))))
				return
			}
		} else {
			since = len(s.log) // a new subscriber starts at the head
		}
		for i := since; i < len(s.log); i++ {
			_ = c.WriteText([]byte(fmt.Sprintf(`{"offset":%d,"epoch":%q,"data":%q}`, i+1, s.epoch, s.log[i])))
		}
	}}
}

func (s *roomServer) publish(srv *engine.Server, msgs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, msgs...)
	_ = srv // live subscribers are not needed: the test publishes while down
}

func TestRoomTrackerRecovery(t *testing.T) {
	rsrv := &roomServer{epoch: "e1", log: []string{"m1", "m2"}}
	rs := newRestartable(t, rsrv.config)
	rt := NewRoomTracker()
	rec := newRecorder()
	d := &Dialer{Client: newClient(t), Reconnect: &Reconnect{Backoff: fastBackoff(), URL: rt.URL}}
	// Start from offset 0 to receive the backlog.
	c, err := d.Dial(ctx10(t), "ws://"+rs.addr+"/ws?room=lobby&since=0&epoch=e1", rt.Handler(rec))
	if err != nil {
		t.Fatal(err)
	}
	rec.next(t)
	rec.next(t)
	if p, _ := rt.Position("lobby"); p != (RoomPosition{2, "e1"}) {
		t.Fatalf("position %+v", p)
	}
	// Outage: two messages published meanwhile.
	rs.stop()
	rsrv.publish(nil, "m3", "m4")
	rs.start()
	for _, want := range []string{"m3", "m4"} {
		if got := rec.next(t); got != fmt.Sprintf(`{"offset":%d,"epoch":"e1","data":%q}`, want[1]-'0', want) {
			t.Fatalf("recovered %q, want %s", got, want)
		}
	}
	rsrv.mu.Lock()
	last := rsrv.queries[len(rsrv.queries)-1]
	rsrv.mu.Unlock()
	if last != "epoch=e1&room=lobby&since=2" {
		t.Fatalf("reconnect query %q", last)
	}
	// The server loses its history (new epoch): recovered=false, and the
	// tracker continues from the new position.
	rs.stop()
	rsrv.mu.Lock()
	rsrv.epoch, rsrv.log = "e2", []string{"n1", "n2", "n3"}
	rsrv.mu.Unlock()
	rs.start()
	if got := rec.next(t); got != `{"recovered":false,"epoch":"e2","offset":3}` {
		t.Fatalf("got %q", got)
	}
	if p, _ := rt.Position("lobby"); p != (RoomPosition{3, "e2"}) {
		t.Fatalf("position after reset %+v", p)
	}
	_ = c.Close(codec.CloseNormal, "")
	rec.closed(t)
}
