package redisbroker

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// hnode is a node whose hub keeps history in Redis for every topic:
// messages arrive as "OFFSET PAYLOAD" (0 when unnumbered), recoveries and
// losses are told as "R ok|lost OFFSET EPOCH". A connection opens with
// ?room=R[&since=N&epoch=E]; a text message "N" from a client resubscribes
// it from offset N of the room's current epoch.
type hnode struct {
	hub    *hub.Hub
	broker *Broker
	addr   string
	opens  chan *engine.Conn
	stop   func()
}

func startHistNode(t *testing.T, redisURL string) *hnode {
	t.Helper()
	b, err := New(Config{URL: redisURL, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		HealthCheck: 2 * time.Second, Logger: quiet, PresenceTTL: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(hub.Config{
		Broker:  b,
		History: []hub.HistoryRule{{Pattern: "*", Size: 5000, TTL: time.Hour}},
		Envelope: func(dst []byte, _ string, pos hub.Position, p []byte) []byte {
			dst = strconv.AppendUint(dst, pos.Offset, 10)
			return append(append(dst, ' '), p...)
		},
		OnRecovery: func(c *engine.Conn, _ string, r hub.Recovery) {
			how := "lost"
			if r.Recovered {
				how = "ok"
			}
			_ = c.WriteText([]byte("R " + how + " " + strconv.FormatUint(r.Position.Offset, 10) + " " + r.Position.Epoch))
		},
		PresenceEvent: func(dst []byte, _ string, ev hub.PresenceEvent) []byte {
			switch ev.Kind {
			case hub.Join:
				return append(append(dst, "J "...), ev.Member.Info...)
			case hub.Leave:
				return append(append(dst, "L "...), ev.Member.Info...)
			}
			return strconv.AppendInt(append(dst, "S "...), int64(len(ev.Members)), 10)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &hnode{hub: h, broker: b, opens: make(chan *engine.Conn, 64)}
	cfg := nodeConfig()
	room := func(c *engine.Conn) string { q, _ := url.ParseQuery(c.RawQuery()); return q.Get("room") }
	srv, err := engine.New(cfg, h.Handler(engine.Handlers{
		Open: func(c *engine.Conn) {
			q, _ := url.ParseQuery(c.RawQuery())
			var o hub.SubscribeOptions
			if q.Has("since") {
				off, _ := strconv.ParseUint(q.Get("since"), 10, 64)
				o.Since = &hub.Position{Offset: off, Epoch: q.Get("epoch")}
			}
			if q.Has("info") {
				o.Info = []byte(q.Get("info"))
			}
			if err := h.SubscribeWith(c, q.Get("room"), o); err != nil {
				t.Error(err)
			}
			n.opens <- c
		},
		Message: func(c *engine.Conn, _ engine.MessageType, data []byte) {
			off, _ := strconv.ParseUint(string(data), 10, 64)
			r := room(c)
			cur, _ := h.Position(r)
			h.Unsubscribe(c, r)
			_ = h.SubscribeWith(c, r, hub.SubscribeOptions{Since: &hub.Position{Offset: off, Epoch: cur.Epoch}})
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
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-errc:
			case <-time.After(15 * time.Second):
				t.Error("server did not stop within 15s")
			}
			_ = h.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

func (n *hnode) dial(t *testing.T, q url.Values) *wstest.Client {
	t.Helper()
	c, err := wstest.Dial(n.addr, &wstest.DialOptions{Path: "/?" + q.Encode()})
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

// synced waits until the node has its position for topic.
func (n *hnode) synced(t *testing.T, topic string) hub.Position {
	t.Helper()
	var p hub.Position
	waitFor(t, "history of "+topic+" synced", 10*time.Second, func() bool {
		var ok bool
		p, ok = n.hub.Position(topic)
		return ok
	})
	return p
}

func readText(t *testing.T, c *wstest.Client) string {
	t.Helper()
	_, p, err := c.ReadMessage(10 * time.Second)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(p)
}

func publishN(t *testing.T, h *hub.Hub, topic, prefix string, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, err := h.Publish(topic, engine.Text, []byte(prefix+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
}

// A client leaves node A at offset 5 and comes back on node B: it gets
// exactly what it missed, from Redis, then the live messages.
func TestHistoryRecoveryOnAnotherNode(t *testing.T) {
	rs, admin := startRedis(t)
	a, b := startHistNode(t, rs.URL()), startHistNode(t, rs.URL())
	ca := a.dial(t, url.Values{"room": {"h"}})
	a.synced(t, "h")
	publishN(t, a.hub, "h", "m", 1, 10)
	for i := 1; i <= 10; i++ {
		if got, want := readText(t, ca), strconv.Itoa(i)+" m"+strconv.Itoa(i); got != want {
			t.Fatalf("on A: got %q, want %q", got, want)
		}
	}
	epoch := a.synced(t, "h").Epoch
	_ = ca.Close()
	// Published while the client is away, on B, which has no subscriber.
	publishN(t, b.hub, "h", "m", 11, 15)
	waitFor(t, "15 messages in Redis", 5*time.Second, func() bool {
		n, _ := admin.XLen(context.Background(), DefaultPrefix+"h:{h}").Result()
		return n == 15
	})
	cb := b.dial(t, url.Values{"room": {"h"}, "since": {"5"}, "epoch": {epoch}})
	if got := readText(t, cb); got != "R ok 15 "+epoch {
		t.Fatalf("first message on B: %q", got)
	}
	for i := 6; i <= 15; i++ {
		if got, want := readText(t, cb), strconv.Itoa(i)+" m"+strconv.Itoa(i); got != want {
			t.Fatalf("on B: got %q, want %q", got, want)
		}
	}
	publishN(t, a.hub, "h", "m", 16, 16)
	if got := readText(t, cb); got != "16 m16" {
		t.Fatalf("live on B: %q", got)
	}
	// PublishWait returns the position Redis gave.
	pos, err := b.hub.PublishWait(context.Background(), "h", engine.Text, []byte("m17"))
	if err != nil || pos.Offset != 17 || pos.Epoch != epoch {
		t.Fatalf("PublishWait = %v %v, want 17@%s", pos, err, epoch)
	}
	if got := readText(t, cb); got != "17 m17" {
		t.Fatalf("live on B: %q", got)
	}
	if err := cb.ExpectSilence(150 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// Too old for a stream bounded at 5000: here, an epoch Redis never had.
	cc := b.dial(t, url.Values{"room": {"h"}, "since": {"3"}, "epoch": {"other"}})
	if got := readText(t, cc); got != "R lost 17 "+epoch {
		t.Fatalf("unknown epoch: %q", got)
	}
	if st := b.broker.Stats(); st.Fetches == 0 {
		t.Fatalf("B recovered without reading Redis: %+v", st)
	}
}

// Clients on two nodes resubscribe from their last offset hundreds of
// times while both nodes publish without pause: after each resubscription
// a client reads exactly the offsets after the one it gave.
func TestHistoryRaceAcrossNodes(t *testing.T) {
	rs, _ := startRedis(t)
	a, b := startHistNode(t, rs.URL()), startHistNode(t, rs.URL())
	const topic = "race"
	nodes := []*hnode{a, b}
	var clients []*wstest.Client
	for i := range 4 {
		clients = append(clients, nodes[i%2].dial(t, url.Values{"room": {topic}}))
	}
	a.synced(t, topic)
	b.synced(t, topic)
	stop := make(chan struct{})
	var pwg sync.WaitGroup
	var published atomic.Int64
	for _, n := range nodes {
		pwg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := n.hub.Publish(topic, engine.Text, []byte("x")); err != nil {
					t.Error(err)
					return
				}
				published.Add(1)
				time.Sleep(500 * time.Microsecond)
			}
		})
	}
	resubs := 500
	if testing.Short() {
		resubs = 50
	}
	deadline := time.Now().Add(60 * time.Second)
	var wg sync.WaitGroup
	var total atomic.Int64
	for ci, c := range clients {
		wg.Go(func() {
			var last uint64
			synced, pending := false, false
			first := true
			var caughtUp uint64
			for k := 0; k < resubs && time.Now().Before(deadline); {
				_, p, err := c.ReadMessage(10 * time.Second)
				if err != nil {
					t.Errorf("client %d: %v", ci, err)
					return
				}
				s := string(p)
				if strings.HasPrefix(s, "R ") {
					if !strings.HasPrefix(s, "R ok ") {
						t.Errorf("client %d: %s", ci, s)
						return
					}
					synced, pending = true, false
					caughtUp, _ = strconv.ParseUint(strings.Fields(s)[2], 10, 64)
					k++
					total.Add(1)
					continue
				}
				off, _ := strconv.ParseUint(s[:strings.IndexByte(s, ' ')], 10, 64)
				if first {
					last, synced, first = off-1, true, false // joined live
				}
				if !synced {
					continue
				}
				if off != last+1 {
					t.Errorf("client %d: after %d got %d (gap or duplicate)", ci, last, off)
					return
				}
				last = off
				if !pending && off > caughtUp {
					_ = c.WriteText(strconv.FormatUint(last, 10))
					synced, pending = false, true
				}
			}
		})
	}
	// And one client hops between A, B and C (C has no other subscriber,
	// so it stops and starts receiving the topic as the client comes and
	// goes), reconnecting each time with its last position.
	c3 := startHistNode(t, rs.URL())
	hops := 60
	if testing.Short() {
		hops = 15
	}
	var hopped atomic.Int64
	wg.Go(func() {
		epoch := a.synced(t, topic).Epoch
		last, _ := a.hub.Position(topic)
		at := last.Offset
		for i := 0; i < hops && time.Now().Before(deadline); i++ {
			n := []*hnode{a, b, c3}[i%3]
			c, err := wstest.Dial(n.addr, &wstest.DialOptions{Path: "/?" + url.Values{"room": {topic}, "since": {strconv.FormatUint(at, 10)}, "epoch": {epoch}}.Encode()})
			if err != nil {
				t.Errorf("hop %d: %v", i, err)
				return
			}
			<-n.opens
			_, p, err := c.ReadMessage(10 * time.Second)
			if err != nil || !strings.HasPrefix(string(p), "R ok ") {
				t.Errorf("hop %d to node %d: %q %v", i, i%3, p, err)
				_ = c.Close()
				return
			}
			upTo, _ := strconv.ParseUint(strings.Fields(string(p))[2], 10, 64)
			for at <= upTo {
				_, p, err := c.ReadMessage(10 * time.Second)
				if err != nil {
					t.Errorf("hop %d: %v", i, err)
					return
				}
				off, _ := strconv.ParseUint(string(p[:strings.IndexByte(string(p), ' ')]), 10, 64)
				if off != at+1 {
					t.Errorf("hop %d to node %d: after %d got %d (gap or duplicate)", i, i%3, at, off)
					_ = c.Close()
					return
				}
				at = off
			}
			_ = c.Close()
			hopped.Add(1)
		}
	})
	wg.Wait()
	close(stop)
	pwg.Wait()
	t.Logf("%d resubscriptions across 2 nodes, %d reconnections hopping across 3, %d publishes", total.Load(), hopped.Load(), published.Load())
	if total.Load() < int64(len(clients)*resubs/2) || hopped.Load() < int64(hops/2) {
		t.Fatalf("only %d resubscriptions within the time bound", total.Load())
	}
}

// FLUSHALL loses the history: the next message starts a new epoch, and a
// live subscriber is told before it, a recovering one at once.
func TestHistoryEpochAfterFlush(t *testing.T) {
	rs, admin := startRedis(t)
	a := startHistNode(t, rs.URL())
	c := a.dial(t, url.Values{"room": {"e"}})
	old := a.synced(t, "e")
	publishN(t, a.hub, "e", "before", 1, 3)
	for i := 1; i <= 3; i++ {
		readText(t, c)
	}
	if err := admin.FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	publishN(t, a.hub, "e", "after", 1, 1)
	got := readText(t, c)
	if !strings.HasPrefix(got, "R lost 0 ") || strings.HasSuffix(got, " "+old.Epoch) {
		t.Fatalf("live subscriber after FLUSHALL: %q", got)
	}
	if got := readText(t, c); got != "1 after1" {
		t.Fatalf("first message of the new epoch: %q", got)
	}
	cur := a.synced(t, "e")
	if cur.Epoch == old.Epoch || cur.Offset != 1 {
		t.Fatalf("position after FLUSHALL: %v (before %v)", cur, old)
	}
	r := a.dial(t, url.Values{"room": {"e"}, "since": {"3"}, "epoch": {old.Epoch}})
	if got := readText(t, r); got != "R lost 1 "+cur.Epoch {
		t.Fatalf("recovery from the old epoch: %q", got)
	}
}

// The backplane goes away twice. First only the subscription connections
// drop (CLIENT KILL): Redis keeps the stream, and the nodes fill the gap
// from it, so the clients miss nothing. Then Redis itself dies and comes
// back empty: local delivery goes on meanwhile, and the clients are told
// the history is gone before the new epoch's messages.
func TestHistoryOutageAndReturn(t *testing.T) {
	rs, admin := startRedis(t)
	a, b := startHistNode(t, rs.URL()), startHistNode(t, rs.URL())
	ca, cb := a.dial(t, url.Values{"room": {"o"}}), b.dial(t, url.Values{"room": {"o"}})
	a.synced(t, "o")
	b.synced(t, "o")
	waitFor(t, "both nodes subscribed", 10*time.Second, func() bool { return a.broker.Subscribed("o") && b.broker.Subscribed("o") })

	// Publishes keep going on A while every subscription connection is cut.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 200; i++ {
			_, _ = a.hub.Publish("o", engine.Text, []byte("k"+strconv.Itoa(i)))
			if i == 50 || i == 120 {
				_ = admin.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for _, c := range []*wstest.Client{ca, cb} {
		for i := 1; i <= 200; i++ {
			if got, want := readText(t, c), strconv.Itoa(i)+" k"+strconv.Itoa(i); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	}
	<-done
	if a.broker.Stats().Reconnects == 0 || b.broker.Stats().CaughtUp+a.broker.Stats().CaughtUp == 0 {
		t.Logf("A %+v B %+v", a.broker.Stats(), b.broker.Stats())
	}

	// Redis dies: each node still serves its own subscribers (unnumbered).
	rs.Stop()
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.hub.PublishWait(wctx, "o", engine.Text, []byte("local")); err != hub.ErrNotReplicated {
		t.Fatalf("PublishWait while Redis is down: %v, want ErrNotReplicated", err)
	}
	if got := readText(t, ca); got != "0 local" {
		t.Fatalf("local delivery during the outage: %q", got)
	}
	if err := cb.ExpectSilence(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	rs.Restart(t)
	// Back, empty: both clients are told, then get the new epoch's messages.
	for _, c := range []*wstest.Client{ca, cb} {
		if got := readText(t, c); !strings.HasPrefix(got, "R lost 0 ") {
			t.Fatalf("after Redis came back empty: %q", got)
		}
	}
	waitFor(t, "A subscribed again", 10*time.Second, func() bool { return a.broker.Subscribed("o") && b.broker.Subscribed("o") })
	// B's publisher retries Redis on its own backoff: until then its
	// messages are delivered on B only, unnumbered, and once Redis takes
	// them again a loss marker goes ahead of them (both nodes' clients
	// hear "R lost"). Publish until one goes through.
	var numbered string
	for i := 0; i < 100 && numbered == ""; i++ {
		publishN(t, b.hub, "o", "new", 1, 1)
		for numbered == "" {
			_, p, err := ca.ReadMessage(100 * time.Millisecond)
			if err != nil {
				break
			}
			if !strings.HasPrefix(string(p), "R lost ") {
				numbered = string(p)
			}
		}
	}
	if !strings.HasSuffix(numbered, " new1") || strings.HasPrefix(numbered, "0 ") {
		t.Fatalf("on A after the outage: %q", numbered)
	}
	for {
		got := readText(t, cb)
		if got == "0 new1" || strings.HasPrefix(got, "R lost ") {
			continue // B only, while its publisher waited to retry; then its marker
		}
		if got != numbered {
			t.Fatalf("on B after the outage: %q, on A %q", got, numbered)
		}
		break
	}
	if st := a.broker.Stats(); st.Unreplicated == 0 || st.Gaps == 0 {
		t.Fatalf("A's stats: %+v", st)
	}
	// A's message of the outage is in no history, but Redis came back
	// with a new epoch, which told everyone: A adds no loss marker.
	waitFor(t, "A's marker tried", 5*time.Second, func() bool { return a.broker.Stats().LossPending == 0 })
	if st := a.broker.Stats(); st.LossMarkers != 0 {
		t.Fatalf("A added a loss marker to the new epoch: %+v", st)
	}
}

// A client that joins a room and publishes before Redis has confirmed this
// node's subscription to it still gets its message: the first catch-up
// delivers from the stream from this node's first own message on.
func TestHistoryOwnPublishBeforeSubscribed(t *testing.T) {
	srv, _ := startRedis(t)
	hold := make(chan struct{})
	var held atomic.Int32
	beforeSubscribe = func(ctx context.Context) {
		held.Add(1)
		select {
		case <-hold:
		case <-ctx.Done():
		}
	}
	t.Cleanup(func() { beforeSubscribe = nil })
	n := startHistNode(t, srv.URL())
	c := n.dial(t, url.Values{"room": {"early"}})
	waitFor(t, "the SUBSCRIBE held", 5*time.Second, func() bool { return held.Load() > 0 })
	publishN(t, n.hub, "early", "m", 1, 2)
	waitFor(t, "Redis took both messages", 5*time.Second, func() bool { return n.broker.Stats().Published >= 2 })
	if err := c.ExpectSilence(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	close(hold)
	for _, want := range []string{"1 m1", "2 m2"} {
		if got := readText(t, c); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	waitFor(t, "subscribed", 5*time.Second, func() bool { return n.broker.Subscribed("early") })
	publishN(t, n.hub, "early", "m", 3, 3)
	if got := readText(t, c); got != "3 m3" {
		t.Fatalf("got %q, want %q", got, "3 m3")
	}
	if err := c.ExpectSilence(150 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
