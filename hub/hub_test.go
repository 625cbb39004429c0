package hub

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

func TestPublishReachesSubscribersOnly(t *testing.T) {
	n := startNode(t, Config{}, nil)
	var inA, inB []*wstest.Client
	for range 4 {
		c, _ := n.join(t, "a")
		inA = append(inA, c)
	}
	for range 2 {
		c, _ := n.join(t, "b")
		inB = append(inB, c)
	}
	both, _ := n.join(t, "a", "b")

	if _, err := n.hub.Publish("a", engine.Text, []byte("to a")); err != nil {
		t.Fatal(err)
	}
	if _, err := n.hub.Publish("b", engine.Binary, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.hub.Publish("nobody", engine.Text, []byte("lost")); err != nil {
		t.Fatal(err)
	}
	for _, c := range inA {
		expectMessage(t, c, ws.OpText, "to a")
		expectSilence(t, c)
	}
	for _, c := range inB {
		expectMessage(t, c, ws.OpBinary, "\x00\x01\x02")
		expectSilence(t, c)
	}
	expectMessage(t, both, ws.OpText, "to a")
	expectMessage(t, both, ws.OpBinary, "\x00\x01\x02")

	st, ok := n.hub.Topic("a")
	if !ok || st.Subscribers != 5 || st.Published != 1 || st.Delivered != 5 || st.Dropped != 0 {
		t.Fatalf("topic a: %+v %v", st, ok)
	}
	if _, err := n.hub.Publish("a", engine.MessageType(9), nil); err != ErrMessageType {
		t.Fatalf("bad type: %v", err)
	}
}

func TestPresenceAndCleanupOnClose(t *testing.T) {
	n := startNode(t, Config{}, nil)
	c1, _ := n.join(t, "a", "b")
	c2, _ := n.join(t, "a")
	_, s3 := n.join(t)

	if got := n.hub.Topics(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("Topics = %v", got)
	}
	if a, b := n.hub.Subscribers("a"), n.hub.Subscribers("b"); a != 2 || b != 1 {
		t.Fatalf("subscribers a=%d b=%d", a, b)
	}
	// Off the loop: takes effect in order with later publishes.
	if err := n.hub.Subscribe(s3, "c"); err != nil {
		t.Fatal(err)
	}
	if err := n.hub.Subscribe(s3, "c"); err != nil { // twice: no-op
		t.Fatal(err)
	}
	waitFor(t, "duplicate subscription undone", func() bool { return n.hub.Subscribers("c") == 1 })

	_ = c1.Close()
	waitFor(t, "c1's subscriptions removed", func() bool {
		return n.hub.Subscribers("a") == 1 && n.hub.Subscribers("b") == 0
	})
	if got := n.hub.Topics(); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("Topics = %v", got)
	}
	_ = c2.Close()
	n.hub.Unsubscribe(s3, "c")
	waitFor(t, "all topics gone", func() bool { return len(n.hub.Topics()) == 0 })
	st := n.hub.Stats()
	if st.Topics != 0 || st.Subscriptions != 0 {
		t.Fatalf("stats after: %+v", st)
	}
	// The hub's per-loop state holds nothing for those connections.
	n.hub.mu.RLock()
	var loops []*loopState
	for _, ls := range n.hub.loops {
		loops = append(loops, ls)
	}
	n.hub.mu.RUnlock()
	for _, ls := range loops {
		done := make(chan int, 1)
		_ = ls.loop.Execute(func() { done <- len(ls.members) })
		if m := <-done; m != 0 {
			t.Fatalf("loop keeps %d members", m)
		}
	}
}

// A Subscribe made from another goroutine is in force for every Publish
// that starts after it returns, on whichever loop the connection lives.
func TestSubscribeOffLoopThenPublish(t *testing.T) {
	n := startNode(t, Config{}, func(c *engine.Config) { c.EventLoops = 4 })
	const conns = 8
	var clients []*wstest.Client
	var servers []*engine.Conn
	for range conns {
		c, s := n.join(t)
		clients = append(clients, c)
		servers = append(servers, s)
	}
	for round := range 20 {
		topic := "t" + strconv.Itoa(round)
		for _, s := range servers {
			if err := n.hub.Subscribe(s, topic); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := n.hub.Publish(topic, engine.Text, []byte(topic)); err != nil {
			t.Fatal(err)
		}
		for _, c := range clients {
			expectMessage(t, c, ws.OpText, topic)
		}
		for _, s := range servers {
			n.hub.Unsubscribe(s, topic)
		}
		if _, err := n.hub.Publish(topic, engine.Text, []byte("after unsubscribe")); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range clients {
		expectSilence(t, c)
	}
	waitFor(t, "topics gone", func() bool { return len(n.hub.Topics()) == 0 })
}

// Messages published to a topic from one goroutine arrive in order at every
// subscriber; two publishers each keep their own order.
func TestOrderPerPublisher(t *testing.T) {
	n := startNode(t, Config{}, func(c *engine.Config) { c.EventLoops = 3 })
	const subs, per = 6, 500
	var clients []*wstest.Client
	for range subs {
		c, _ := n.join(t, "room")
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	for p := range 2 {
		wg.Go(func() {
			for i := range per {
				msg := fmt.Sprintf("%d:%d", p, i)
				if _, err := n.hub.Publish("room", engine.Text, []byte(msg)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// One publisher on an event loop: a subscriber's own loop delivers
	// directly, the others through their queues.
	onMsg := func(c *engine.Conn, typ engine.MessageType, data []byte) {
		for i := range per {
			_, _ = n.hub.Publish("room", engine.Text, fmt.Appendf(nil, "2:%d", i))
		}
	}
	n.onMsg.Store(&onMsg)
	if err := clients[0].WriteText("go"); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		wg.Go(func() {
			next := [3]int{}
			for range 3 * per {
				_, p, err := c.ReadMessage(10 * time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				var who, i int
				if _, err := fmt.Sscanf(string(p), "%d:%d", &who, &i); err != nil || who > 2 {
					t.Errorf("bad message %q", p)
					return
				}
				if i != next[who] {
					t.Errorf("publisher %d: got %d, want %d", who, i, next[who])
					return
				}
				next[who]++
			}
		})
	}
	wg.Wait()
	if st := n.hub.Stats(); st.Dropped != 0 || st.Overflows != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestClosedHub(t *testing.T) {
	n := startNode(t, Config{}, nil)
	_, s := n.join(t)
	_ = n.hub.Close()
	if err := n.hub.Subscribe(s, "x"); err != ErrHubClosed {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	if _, err := n.hub.Publish("x", engine.Text, nil); err != ErrHubClosed {
		t.Fatalf("Publish after Close: %v", err)
	}
}

// Work a loop does itself never overtakes work handed to it earlier: a
// Subscribe made elsewhere and still queued is in force for a Publish (and
// is undone by an Unsubscribe) that the loop makes afterwards.
func TestOnLoopCallsKeepOrder(t *testing.T) {
	n := startNode(t, Config{}, func(c *engine.Config) { c.EventLoops = 1 })
	_, a := n.join(t)
	cb, b := n.join(t)
	onLoop(t, a, func() {
		done := make(chan struct{})
		go func() { // not on the loop (which is busy here): queued
			_ = n.hub.Subscribe(b, "t")
			_ = n.hub.Subscribe(b, "u")
			close(done)
		}()
		<-done
		_, _ = n.hub.Publish("t", engine.Text, []byte("after subscribe"))
		n.hub.Unsubscribe(b, "u")
	})
	expectMessage(t, cb, ws.OpText, "after subscribe")
	waitFor(t, "u unsubscribed", func() bool { return n.hub.Subscribers("u") == 0 })
	onLoop(t, a, func() {})
	if n.hub.Subscribers("u") != 0 || n.hub.Subscribers("t") != 1 {
		t.Fatalf("t=%d u=%d", n.hub.Subscribers("t"), n.hub.Subscribers("u"))
	}
}
