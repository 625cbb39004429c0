package redisbroker

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/hub/redisbroker/redistest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the outage test makes many on purpose.
	redis.SetLogger(quietRedis{})
	os.Exit(m.Run())
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// node is one server + hub + Redis broker: connections join the rooms named
// in their ?room= query.
type node struct {
	hub    *hub.Hub
	broker *Broker
	addr   string
	opens  chan *engine.Conn
}

func startNode(t *testing.T, redisURL string) *node {
	t.Helper()
	return startNodeWith(t, redisURL, nil)
}

// nodeConfig is the engine configuration of the test nodes: loopback, two
// loops, a fast tick, no pings, quiet.
func nodeConfig() engine.Config {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 2
	cfg.TickInterval = 20 * time.Millisecond
	cfg.CloseTimeout = time.Second
	cfg.PingInterval = 0
	cfg.Logger = quiet
	return cfg
}

func startNodeWith(t *testing.T, redisURL string, tweak func(*Config)) *node {
	t.Helper()
	bcfg := Config{
		URL:         redisURL,
		MinBackoff:  20 * time.Millisecond,
		MaxBackoff:  200 * time.Millisecond,
		HealthCheck: 2 * time.Second,
		Logger:      quiet,
	}
	if tweak != nil {
		tweak(&bcfg)
	}
	b, err := New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(hub.Config{Broker: b})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{hub: h, broker: b, opens: make(chan *engine.Conn, 64)}
	cfg := nodeConfig()
	srv, err := engine.New(cfg, h.Handler(engine.Handlers{
		Open: func(c *engine.Conn) {
			q, _ := url.ParseQuery(c.RawQuery())
			for _, room := range q["room"] {
				_ = h.Subscribe(c, room)
			}
			n.opens <- c
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	n.addr = srv.Addr()
	if n.addr == "" {
		t.Fatalf("server did not start: %v", <-errc)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-errc:
		case <-time.After(15 * time.Second):
			t.Error("server did not stop within 15s")
		}
		_ = h.Close()
	})
	return n
}

func (n *node) join(t *testing.T, rooms ...string) *wstest.Client {
	t.Helper()
	c, err := wstest.Dial(n.addr, &wstest.DialOptions{Path: "/?" + url.Values{"room": rooms}.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	select {
	case <-n.opens:
	case <-time.After(5 * time.Second):
		t.Fatal("OnOpen not called within 5s")
	}
	return c
}

func startRedis(t *testing.T) (*redistest.Server, *redis.Client) {
	srv := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = admin.Close() })
	return srv, admin
}

// numSub is the number of Redis subscribers of topic's channel.
func numSub(admin *redis.Client, topic string) int64 {
	m, err := admin.PubSubNumSub(context.Background(), DefaultPrefix+topic).Result()
	if err != nil {
		return -1
	}
	return m[DefaultPrefix+topic]
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func expectMessage(t *testing.T, c *wstest.Client, want string) {
	t.Helper()
	op, p, err := c.ReadMessage(5 * time.Second)
	if err != nil {
		t.Fatalf("read: %v (want %q)", err, want)
	}
	if op != ws.OpText || string(p) != want {
		t.Fatalf("got %v %q, want %q", op, p, want)
	}
}

func expectSilence(t *testing.T, c *wstest.Client) {
	t.Helper()
	if err := c.ExpectSilence(150 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
