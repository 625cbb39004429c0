package hub

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// histConfig numbers messages "OFFSET PAYLOAD" and tells a recovering
// subscriber "R ok|lost OFFSET EPOCH" before anything else.
func histConfig(rules ...HistoryRule) Config {
	return Config{
		History: rules,
		Envelope: func(dst []byte, _ string, pos Position, p []byte) []byte {
			dst = strconv.AppendUint(dst, pos.Offset, 10)
			dst = append(dst, ' ')
			return append(dst, p...)
		},
		OnRecovery: func(c *engine.Conn, _ string, r Recovery) {
			how := "lost"
			if r.Recovered {
				how = "ok"
			}
			_ = c.WriteText([]byte("R " + how + " " + strconv.FormatUint(r.Position.Offset, 10) + " " + r.Position.Epoch))
		},
	}
}

func (n *node) joinQuery(t testing.TB, q url.Values) (*wstest.Client, *engine.Conn) {
	t.Helper()
	c, err := wstest.Dial(n.addr, &wstest.DialOptions{Path: "/?" + q.Encode()})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	select {
	case sc := <-n.opens:
		return c, sc
	case <-time.After(5 * time.Second):
		t.Fatal("OnOpen not called within 5s")
		return nil, nil
	}
}

func mustPublish(t testing.TB, h *Hub, topic, msg string) Position {
	t.Helper()
	pos, err := h.Publish(topic, engine.Text, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

func TestPositionsAndRecovery(t *testing.T) {
	n := startNode(t, histConfig(HistoryRule{Pattern: "room.*", Size: 10, TTL: time.Minute}), nil)
	var epoch string
	for i := 1; i <= 5; i++ {
		pos := mustPublish(t, n.hub, "room.a", "m"+strconv.Itoa(i))
		if pos.Offset != uint64(i) || pos.Epoch == "" || (epoch != "" && pos.Epoch != epoch) {
			t.Fatalf("publish %d: position %v", i, pos)
		}
		epoch = pos.Epoch
	}
	if pos := mustPublish(t, n.hub, "plain", "x"); !pos.IsZero() {
		t.Fatalf("topic without history got position %v", pos)
	}
	if cur, ok := n.hub.Position("room.a"); !ok || cur.Offset != 5 || cur.Epoch != epoch {
		t.Fatalf("Position = %v %v", cur, ok)
	}

	tests := []struct {
		name  string
		since string
		epoch string
		want  []string
	}{
		{"from 2", "2", epoch, []string{"R ok 5 " + epoch, "3 m3", "4 m4", "5 m5"}},
		{"from 0", "0", epoch, []string{"R ok 5 " + epoch, "1 m1", "2 m2", "3 m3", "4 m4", "5 m5"}},
		{"up to date", "5", epoch, []string{"R ok 5 " + epoch}},
		{"other epoch", "2", "feedface", []string{"R lost 5 " + epoch}},
		{"from the future", "9", epoch, []string{"R lost 5 " + epoch}},
	}
	var clients []*wstest.Client
	for _, tc := range tests {
		c, _ := n.joinQuery(t, url.Values{"room": {"room.a"}, "since": {tc.since}, "epoch": {tc.epoch}})
		for _, w := range tc.want {
			expectMessage(t, c, ws.OpText, w)
		}
		expectSilence(t, c)
		clients = append(clients, c)
	}
	// Every one of them is live afterwards.
	mustPublish(t, n.hub, "room.a", "m6")
	for _, c := range clients {
		expectMessage(t, c, ws.OpText, "6 m6")
	}

	// Past the size bound the oldest are gone: recovering from 1 is too old.
	for i := 7; i <= 20; i++ {
		mustPublish(t, n.hub, "room.a", "m"+strconv.Itoa(i))
	}
	c, _ := n.joinQuery(t, url.Values{"room": {"room.a"}, "since": {"1"}, "epoch": {epoch}})
	expectMessage(t, c, ws.OpText, "R lost 20 "+epoch)
	c2, _ := n.joinQuery(t, url.Values{"room": {"room.a"}, "since": {"10"}, "epoch": {epoch}})
	expectMessage(t, c2, ws.OpText, "R ok 20 "+epoch)
	for i := 11; i <= 20; i++ {
		expectMessage(t, c2, ws.OpText, fmt.Sprintf("%d m%d", i, i))
	}
	if st := n.hub.History(); st.Streams != 1 || st.Entries != 10 || st.Recovery < 4 || st.Failed < 3 || st.Bytes <= 0 {
		t.Fatalf("History() = %+v", st)
	}
	// A topic without history cannot recover.
	_, sc := n.join(t)
	if err := n.hub.SubscribeWith(sc, "plain", SubscribeOptions{Since: &Position{}}); err != ErrNoHistory {
		t.Fatalf("SubscribeWith on a topic without history: %v", err)
	}
}

func TestHistoryAge(t *testing.T) {
	n := startNode(t, histConfig(HistoryRule{Pattern: "*", Size: 100, TTL: 300 * time.Millisecond}), nil)
	p := mustPublish(t, n.hub, "t", "old")
	time.Sleep(400 * time.Millisecond)
	mustPublish(t, n.hub, "t", "new")
	c, _ := n.joinQuery(t, url.Values{"room": {"t"}, "since": {"0"}, "epoch": {p.Epoch}})
	expectMessage(t, c, ws.OpText, "R lost 2 "+p.Epoch)
	c2, _ := n.joinQuery(t, url.Values{"room": {"t"}, "since": {"1"}, "epoch": {p.Epoch}})
	expectMessage(t, c2, ws.OpText, "R ok 2 "+p.Epoch)
	expectMessage(t, c2, ws.OpText, "2 new")
	// A quiet topic with no subscriber loses its stream: a new epoch.
	_ = c.Close()
	_ = c2.Close()
	waitFor(t, "subscribers gone", func() bool { return n.hub.Subscribers("t") == 0 })
	time.Sleep(400 * time.Millisecond)
	n.hub.ExpireHistory()
	if st := n.hub.History(); st.Streams != 0 || st.Bytes != 0 {
		t.Fatalf("after expiry: %+v", st)
	}
	if q := mustPublish(t, n.hub, "t", "again"); q.Offset != 1 || q.Epoch == p.Epoch {
		t.Fatalf("new stream position %v (old epoch %s)", q, p.Epoch)
	}
}

func TestHistoryMemoryBound(t *testing.T) {
	cfg := histConfig(HistoryRule{Pattern: "*", Size: 1000, TTL: time.Minute})
	cfg.MaxHistoryBytes = 10 * (1000 + historyEntryOverhead + 8)
	n := startNode(t, cfg, nil)
	big := strings.Repeat("x", 1000)
	var last Position
	for range 50 {
		last = mustPublish(t, n.hub, "a", big)
		mustPublish(t, n.hub, "b", big)
	}
	st := n.hub.History()
	if st.Bytes > cfg.MaxHistoryBytes || st.Evicted == 0 || st.Entries == 0 {
		t.Fatalf("History() = %+v, bound %d", st, cfg.MaxHistoryBytes)
	}
	c, _ := n.joinQuery(t, url.Values{"room": {"a"}, "since": {"1"}, "epoch": {last.Epoch}})
	expectMessage(t, c, ws.OpText, "R lost 50 "+last.Epoch)
}

func TestPublishInvalidUTF8(t *testing.T) {
	n := startNode(t, Config{}, nil)
	c, _ := n.join(t, "a")
	for _, bad := range []string{"\xff", "ok\xc3", "\xed\xa0\x80"} {
		if _, err := n.hub.Publish("a", engine.Text, []byte(bad)); err != ErrInvalidUTF8 {
			t.Fatalf("Publish(%q) = %v, want ErrInvalidUTF8", bad, err)
		}
	}
	// Binary is not text: anything goes.
	if _, err := n.hub.Publish("a", engine.Binary, []byte("\xff")); err != nil {
		t.Fatal(err)
	}
	expectMessage(t, c, ws.OpBinary, "\xff")
	mustPublish(t, n.hub, "a", "Zoë")
	expectMessage(t, c, ws.OpText, "Zoë")
}

// TestRecoveryRace resubscribes clients thousands of times from their last
// offset while publishers publish without pause: after each resubscription
// a client must read exactly the offsets after the one it gave, with no gap
// and no duplicate.
func TestRecoveryRace(t *testing.T) {
	n := startNode(t, histConfig(HistoryRule{Pattern: "*", Size: 1 << 16, TTL: time.Hour}), nil)
	const topic = "race"
	// A client sends "N": resubscribe me from N. Every other time from
	// another goroutine: the recovery is then queued for the loop, and
	// publishes numbered between the hand-off and the recovery's read are
	// both queued behind it and in what it reads (it must skip them).
	f := func(c *engine.Conn, _ engine.MessageType, data []byte) {
		off, _ := strconv.ParseUint(string(data), 10, 64)
		resub := func() {
			epoch, _ := n.hub.Position(topic)
			n.hub.Unsubscribe(c, topic)
			if err := n.hub.SubscribeWith(c, topic, SubscribeOptions{Since: &Position{Offset: off, Epoch: epoch.Epoch}}); err != nil && err != engine.ErrClosed {
				t.Error(err)
			}
		}
		if off%2 == 0 {
			go resub()
		} else {
			resub()
		}
	}
	n.onMsg.Store(&f)
	mustPublish(t, n.hub, topic, "first")

	const clients = 4
	resubs := 2500 // 10,000 in all
	if testing.Short() || raceEnabled {
		resubs = 500
	}
	stop := make(chan struct{})
	var published atomic.Uint64
	var pwg sync.WaitGroup
	for p := range 2 {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := n.hub.Publish(topic, engine.Text, []byte("p"+strconv.Itoa(p))); err != nil {
					t.Error(err)
					return
				}
				published.Add(1)
				time.Sleep(200 * time.Microsecond)
			}
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	var wg sync.WaitGroup
	var totalResubs, totalMsgs atomic.Int64
	for ci := range clients {
		c, _ := n.joinQuery(t, url.Values{"room": {topic}, "since": {"0"}, "epoch": {mustPos(t, n.hub, topic).Epoch}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			synced := false // between "R ok" and the next resubscription request
			pending := false
			var caughtUp uint64 // the position "R ok" gave
			for k := 0; k < resubs && time.Now().Before(deadline); {
				_, p, err := c.ReadMessage(5 * time.Second)
				if err != nil {
					t.Errorf("client %d: read: %v", ci, err)
					return
				}
				s := string(p)
				if strings.HasPrefix(s, "R ") {
					parts := strings.Fields(s)
					if parts[1] != "ok" {
						t.Errorf("client %d: recovery failed: %s", ci, s)
						return
					}
					synced, pending = true, false
					caughtUp, _ = strconv.ParseUint(parts[2], 10, 64)
					totalResubs.Add(1)
					k++
					continue
				}
				off, _ := strconv.ParseUint(s[:strings.IndexByte(s, ' ')], 10, 64)
				if !synced {
					continue // sent before the resubscription: replayed after "R"
				}
				if off != last+1 {
					t.Errorf("client %d: after offset %d got %d (gap or duplicate)", ci, last, off)
					return
				}
				last = off
				totalMsgs.Add(1)
				if !pending && off > caughtUp {
					// Past the recovery's position (so a duplicate of a
					// queued message would have shown): resubscribe from
					// here, while messages keep coming.
					if err := c.WriteText(strconv.FormatUint(last, 10)); err != nil {
						t.Errorf("client %d: write: %v", ci, err)
						return
					}
					synced, pending = false, true
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	pwg.Wait()
	t.Logf("%d resubscriptions, %d messages checked in order, %d published; %+v", totalResubs.Load(), totalMsgs.Load(), published.Load(), n.hub.History())
	if totalResubs.Load() < int64(clients*resubs/2) {
		t.Fatalf("only %d resubscriptions within the time bound", totalResubs.Load())
	}
}

func mustPos(t testing.TB, h *Hub, topic string) Position {
	t.Helper()
	p, ok := h.Position(topic)
	if !ok {
		t.Fatalf("no position for %s", topic)
	}
	return p
}

func TestRecMark(t *testing.T) {
	tests := []struct {
		after, off uint64
		covered    bool
	}{
		{0, 1, false}, {5, 5, true}, {5, 4, true}, {5, 6, false}, {5, 1, true},
		{1<<31 - 1, 1 << 31, false}, {1 << 31, 1<<31 - 100, true}, {1 << 31, 1<<31 + 1, false},
		{1<<32 + 7, 1<<32 + 7, true}, {1<<32 + 7, 1<<32 + 8, false}, {1<<40 + 3, 1<<40 - 4000, true},
		{5000, 5000 - 4096, true}, {100, 100 + 1<<20, false},
	}
	for _, tc := range tests {
		if got := recCovers(recMark(tc.after), tc.off); got != tc.covered {
			t.Errorf("after %d, offset %d: covered %v, want %v", tc.after, tc.off, got, tc.covered)
		}
	}
}
