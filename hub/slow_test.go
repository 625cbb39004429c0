package hub

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// floodSlow publishes 8 MiB in 1 KiB messages to "room", where fast reads
// everything and slow reads nothing, pacing on fast so that only slow falls
// behind. Every Publish must return without waiting for slow.
func floodSlow(t *testing.T, n *node, fast *wstest.Client) {
	t.Helper()
	payload := bytes.Repeat([]byte("x"), 1024)
	const batches, per = 256, 32
	var slowest time.Duration
	for b := range batches {
		for i := range per {
			copy(payload, strconv.Itoa(b*per+i)+" ")
			start := time.Now()
			if _, err := n.hub.Publish("room", engine.Binary, payload); err != nil {
				t.Fatal(err)
			}
			slowest = max(slowest, time.Since(start))
		}
		for i := range per {
			_, p, err := fast.ReadMessage(10 * time.Second)
			if err != nil {
				t.Fatalf("fast subscriber: %v", err)
			}
			if want := strconv.Itoa(b*per+i) + " "; !bytes.HasPrefix(p, []byte(want)) {
				t.Fatalf("fast subscriber got %q..., want %q", p[:8], want)
			}
		}
	}
	// A Publish that waited for the slow subscriber would never return (it
	// reads nothing): getting here is the test. The time is for the log.
	t.Logf("slowest Publish: %v", slowest)
}

func slowClient(t *testing.T, n *node, rooms ...string) (*wstest.Client, *engine.Conn) {
	c, s := n.join(t, rooms...)
	if err := c.Conn.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestSlowSubscriberDropPolicy(t *testing.T) {
	n := startNode(t, Config{}, func(c *engine.Config) {
		c.MaxOutbound = 64 << 10
		c.OutboundPolicy = engine.PolicyDrop
		c.WriteStallTimeout = 0
	})
	slow, _ := slowClient(t, n, "room")
	fast, _ := n.join(t, "room")
	floodSlow(t, n, fast)
	st, _ := n.hub.Topic("room")
	if st.Dropped == 0 || st.Subscribers != 2 {
		t.Fatalf("topic stats %+v: want drops for the slow subscriber, both still subscribed", st)
	}
	t.Logf("8192 publishes: %d dropped for the slow subscriber", st.Dropped)
	// The slow subscriber is still connected and gets what was not dropped,
	// in order, then later messages.
	_, _ = n.hub.Publish("room", engine.Text, []byte("last"))
	if err := slow.Conn.(*net.TCPConn).SetReadBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	prev := -1
	for {
		op, p, err := slow.ReadMessage(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if op == ws.OpText {
			if string(p) != "last" {
				t.Fatalf("got %q", p)
			}
			break
		}
		i, _ := strconv.Atoi(string(p[:bytes.IndexByte(p, ' ')]))
		if i <= prev {
			t.Fatalf("slow subscriber: %d after %d", i, prev)
		}
		prev = i
	}
	expectMessage(t, fast, ws.OpText, "last")
}

func TestSlowSubscriberClosePolicy(t *testing.T) {
	n := startNode(t, Config{}, func(c *engine.Config) {
		c.EventLoops = 1 // the slow ones share the fast one's loop: closes happen mid-delivery
		c.MaxOutbound = 64 << 10
		c.WriteStallTimeout = 0
	})
	var slows []*wstest.Client
	for range 3 {
		c, _ := slowClient(t, n, "room", "other")
		slows = append(slows, c)
	}
	fast, _ := n.join(t, "room")
	floodSlow(t, n, fast)
	waitFor(t, "slow subscribers removed", func() bool {
		return n.hub.Subscribers("room") == 1 && n.hub.Subscribers("other") == 0
	})
	if st, _ := n.hub.Topic("room"); st.Dropped < 3 {
		t.Fatalf("topic stats %+v", st)
	}
	if got := n.srv.Stats().Closes[codec.ClosePolicyViolation]; got != 3 {
		t.Fatalf("1008 closes: %d, want 3", got)
	}
	for _, c := range slows {
		_ = c.Close()
	}
	_, _ = n.hub.Publish("room", engine.Text, []byte("after"))
	expectMessage(t, fast, ws.OpText, "after")
}

// Connections closing while publishes reach them, on the same loops, from
// several publishers: the hub's lists stay consistent and empty out.
func TestChurnDuringPublish(t *testing.T) {
	n := startNode(t, Config{}, func(c *engine.Config) { c.EventLoops = 2 })
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range 2 {
		wg.Go(func() {
			msg := []byte("p" + strconv.Itoa(p))
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = n.hub.Publish("a", engine.Text, msg)
				_, _ = n.hub.Publish("b", engine.Text, msg)
				time.Sleep(time.Millisecond) // steady, without starving the loops of the joins under -race
			}
		})
	}
	for round := range 10 {
		var clients []*wstest.Client
		var conns []*engine.Conn
		for i := range 20 {
			rooms := []string{"a"}
			if i%2 == 0 {
				rooms = append(rooms, "b")
			}
			c, s := n.join(t, rooms...)
			clients = append(clients, c)
			conns = append(conns, s)
		}
		for i, c := range clients {
			switch (i + round) % 3 {
			case 0:
				_ = c.Close() // TCP gone
			case 1:
				_ = conns[i].Close(codec.CloseNormal, "bye") // server-side close
			default:
				n.hub.Unsubscribe(conns[i], "a")
				_ = c.Close()
			}
		}
		waitFor(t, "round's subscriptions removed", func() bool { return len(n.hub.Topics()) == 0 })
	}
	close(stop)
	wg.Wait()
	n.hub.mu.RLock()
	var loops []*loopState
	for _, ls := range n.hub.loops {
		loops = append(loops, ls)
	}
	n.hub.mu.RUnlock()
	for _, ls := range loops {
		done := make(chan int, 1)
		if err := ls.loop.Execute(func() { done <- len(ls.members) }); err != nil {
			t.Fatal(err)
		}
		if m := <-done; m != 0 {
			t.Fatalf("loop keeps %d members", m)
		}
	}
}
