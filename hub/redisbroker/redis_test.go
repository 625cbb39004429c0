package redisbroker

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// Three hubs on three engines sharing one Redis: a message published on any
// node reaches the subscribers on all three exactly once.
func TestThreeNodes(t *testing.T) {
	rs, admin := startRedis(t)
	var nodes []*node
	var clients []*wstest.Client
	for range 3 {
		n := startNode(t, rs.URL())
		nodes = append(nodes, n)
		for range 2 {
			clients = append(clients, n.join(t, "room"))
		}
	}
	waitFor(t, "three Redis subscribers of room", 10*time.Second, func() bool {
		return numSub(admin, "room") == 3
	})
	for _, n := range nodes {
		waitFor(t, "subscription confirmed", 5*time.Second, func() bool { return n.broker.Subscribed("room") })
	}
	for i, n := range nodes {
		for k := range 5 {
			msg := "node " + strconv.Itoa(i) + " #" + strconv.Itoa(k)
			if _, err := n.hub.Publish("room", engine.Text, []byte(msg)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Each client: every message once, each node's in its publish order.
	for ci, c := range clients {
		next := [3]int{}
		for range 15 {
			_, p, err := c.ReadMessage(5 * time.Second)
			if err != nil {
				t.Fatalf("client %d: %v", ci, err)
			}
			var i, k int
			if _, err := fmtSscan(string(p), &i, &k); err != nil {
				t.Fatalf("client %d: bad message %q", ci, p)
			}
			if k != next[i] {
				t.Fatalf("client %d: from node %d got #%d, want #%d", ci, i, k, next[i])
			}
			next[i]++
		}
		expectSilence(t, c)
	}
	waitFor(t, "own messages dropped", 5*time.Second, func() bool {
		for _, n := range nodes {
			if st := n.broker.Stats(); st.Own != 5 || st.Received != 10 || st.Published != 5 {
				return false
			}
		}
		return true
	})
}

func fmtSscan(s string, i, k *int) (int, error) {
	// "node I #K"
	s = strings.TrimPrefix(s, "node ")
	a, b, ok := strings.Cut(s, " #")
	if !ok {
		return 0, strconv.ErrSyntax
	}
	var err error
	if *i, err = strconv.Atoi(a); err != nil {
		return 0, err
	}
	if *k, err = strconv.Atoi(b); err != nil {
		return 1, err
	}
	return 2, nil
}

// A node subscribes in Redis only to topics it has subscribers for, and
// unsubscribes when the last one leaves.
func TestSubscribesOnlyLocalTopics(t *testing.T) {
	rs, admin := startRedis(t)
	a, b := startNode(t, rs.URL()), startNode(t, rs.URL())
	ca := a.join(t, "only-a")
	cb := b.join(t, "only-b", "both")
	ca2 := a.join(t, "both")
	waitFor(t, "Redis subscriptions", 10*time.Second, func() bool {
		return numSub(admin, "only-a") == 1 && numSub(admin, "only-b") == 1 && numSub(admin, "both") == 2
	})
	// A topic nobody subscribes to is not in Redis at all.
	if n := numSub(admin, "nobody"); n != 0 {
		t.Fatalf("nobody has %d subscribers", n)
	}
	_, _ = b.hub.Publish("only-a", engine.Text, []byte("b to a"))
	expectMessage(t, ca, "b to a")
	expectSilence(t, cb)

	_ = cb.Close()
	waitFor(t, "node b leaves only-b and both in Redis", 10*time.Second, func() bool {
		return numSub(admin, "only-b") == 0 && numSub(admin, "both") == 1
	})
	_ = ca.Close()
	_ = ca2.Close()
	waitFor(t, "node a leaves everything", 10*time.Second, func() bool {
		chans, err := admin.PubSubChannels(t.Context(), DefaultPrefix+"*").Result()
		return err == nil && len(chans) == 0
	})
}

// Redis goes away and comes back: local delivery goes on throughout,
// messages published across nodes during the outage are lost (at most
// once), and cross-node delivery resumes without restarting the nodes.
func TestRedisOutage(t *testing.T) {
	rs, admin := startRedis(t)
	n1, n2 := startNode(t, rs.URL()), startNode(t, rs.URL())
	c1 := n1.join(t, "room")
	c2 := n2.join(t, "room")
	waitFor(t, "both nodes subscribed", 10*time.Second, func() bool { return numSub(admin, "room") == 2 })
	_, _ = n1.hub.Publish("room", engine.Text, []byte("before"))
	expectMessage(t, c1, "before")
	expectMessage(t, c2, "before")

	rs.Stop()
	waitFor(t, "both nodes see the outage", 10*time.Second, func() bool {
		return !n1.broker.Stats().Connected && !n2.broker.Stats().Connected
	})
	for i := range 20 {
		msg := "during " + strconv.Itoa(i)
		if _, err := n1.hub.Publish("room", engine.Text, []byte(msg)); err != nil && err != ErrQueueFull {
			t.Fatalf("Publish during the outage: %v", err)
		}
		expectMessage(t, c1, msg) // local delivery goes on
		time.Sleep(10 * time.Millisecond)
	}
	expectSilence(t, c2)

	rs.Restart(t) // an empty Redis: the nodes must subscribe again
	waitFor(t, "subscriptions restored in the new Redis", 15*time.Second, func() bool {
		return numSub(admin, "room") == 2
	})
	// Publish until one gets across; then everything does.
	got := make(chan string, 1)
	go func() {
		_, p, err := c2.ReadMessage(20 * time.Second)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(p)
	}()
	var first string
	sent := 0
	deadline := time.After(15 * time.Second)
wait:
	for {
		select {
		case first = <-got:
			break wait
		case <-deadline:
			t.Fatal("cross-node delivery did not resume within 15s of Redis coming back")
		case <-time.After(50 * time.Millisecond):
			msg := "after " + strconv.Itoa(sent)
			_, _ = n1.hub.Publish("room", engine.Text, []byte(msg))
			expectMessage(t, c1, msg)
			sent++
		}
	}
	if !strings.HasPrefix(first, "after ") {
		t.Fatalf("first message after the outage: %q (messages from the outage must not be replayed)", first)
	}
	k, _ := strconv.Atoi(strings.TrimPrefix(first, "after "))
	for k++; k < sent; k++ { // the rest of the probes, in order
		expectMessage(t, c2, "after "+strconv.Itoa(k))
	}
	// Both directions, exactly once.
	_, _ = n1.hub.Publish("room", engine.Text, []byte("from 1"))
	_, _ = n2.hub.Publish("room", engine.Text, []byte("from 2"))
	for _, c := range []*wstest.Client{c1, c2} {
		seen := map[string]int{}
		for range 2 {
			_, p, err := c.ReadMessage(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			seen[string(p)]++
		}
		if seen["from 1"] != 1 || seen["from 2"] != 1 {
			t.Fatalf("after recovery: %v", seen)
		}
		expectSilence(t, c)
	}
	st1, st2 := n1.broker.Stats(), n2.broker.Stats()
	t.Logf("node 1: %+v", st1)
	t.Logf("node 2: %+v", st2)
	if st1.Lost == 0 || st1.Reconnects == 0 || st2.Reconnects == 0 || !st1.Connected || !st2.Connected {
		t.Fatalf("stats after the outage: %+v / %+v", st1, st2)
	}
}

// A Redis that stops answering without closing its connections (a network
// partition, here a SIGSTOP) is detected by the health check; delivery
// across nodes resumes when it answers again.
func TestRedisSilent(t *testing.T) {
	rs, admin := startRedis(t)
	n1 := startNodeWith(t, rs.URL(), func(c *Config) { c.HealthCheck = 200 * time.Millisecond })
	n2 := startNodeWith(t, rs.URL(), func(c *Config) { c.HealthCheck = 200 * time.Millisecond })
	c1 := n1.join(t, "room")
	c2 := n2.join(t, "room")
	waitFor(t, "both nodes subscribed", 10*time.Second, func() bool { return numSub(admin, "room") == 2 })

	rs.Pause()
	waitFor(t, "the silent connection noticed", 10*time.Second, func() bool {
		return n2.broker.Stats().Reconnects > 0 || !n2.broker.Stats().Connected
	})
	_, _ = n1.hub.Publish("room", engine.Text, []byte("local"))
	expectMessage(t, c1, "local")
	t.Logf("node 2 while Redis is silent: %+v", n2.broker.Stats())
	rs.Resume()

	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		msg := "probe " + strconv.Itoa(i)
		_, _ = n1.hub.Publish("room", engine.Text, []byte(msg))
		expectMessage(t, c1, msg)
		if _, p, err := c2.ReadMessage(200 * time.Millisecond); err == nil {
			if !strings.HasPrefix(string(p), "probe ") && string(p) != "local" {
				t.Fatalf("got %q", p)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cross-node delivery did not resume within 15s")
		}
	}
}
