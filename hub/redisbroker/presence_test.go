package redisbroker

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/hub"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// Members on three nodes: every node sees all of them, joins and leaves
// reach the subscribers on every node, and when a node dies (no leave is
// sent) its members expire and one snapshot replaces their leaves.
func TestPresenceThreeNodes(t *testing.T) {
	rs, _ := startRedis(t)
	var nodes []*hnode
	for range 3 {
		nodes = append(nodes, startHistNode(t, rs.URL()))
	}
	ctx := context.Background()
	// A watcher on node 0, not a member.
	watch := nodes[0].dial(t, url.Values{"room": {"p"}})
	nodes[0].synced(t, "p")
	waitFor(t, "node 0 subscribed", 10*time.Second, func() bool { return nodes[0].broker.Subscribed("p") })
	var members []*wstest.Client
	names := []string{"a0", "a1", "b0", "b1", "c0", "c1"}
	for i, name := range names {
		n := nodes[i/2]
		members = append(members, n.dial(t, url.Values{"room": {"p"}, "info": {name}}))
		if got := readText(t, watch); got != "J "+name {
			t.Fatalf("watcher on node 0: %q, want join of %s", got, name)
		}
	}
	for i, n := range nodes {
		ms, err := n.hub.Presence(ctx, "p")
		var got []string
		for _, m := range ms {
			got = append(got, string(m.Info))
		}
		slices.Sort(got)
		if err != nil || !slices.Equal(got, names) {
			t.Fatalf("node %d: Presence = %v %v", i, got, err)
		}
		if c, err := n.hub.PresenceCount(ctx, "p"); err != nil || c != 6 {
			t.Fatalf("node %d: PresenceCount = %d %v", i, c, err)
		}
	}
	// A leave on node 1 reaches node 0.
	_ = members[3].Close()
	if got := readText(t, watch); got != "L b1" {
		t.Fatalf("watcher: %q, want leave of b1", got)
	}
	// Node 2 dies: its broker first, so nothing of its end reaches Redis.
	_ = nodes[2].broker.Close()
	nodes[2].stop()
	// Its members expire (PresenceTTL 1.5s): a snapshot, no leaves. (Their
	// expiry is rounded to the sweep interval, so they expire together
	// unless they were written in two intervals: then two snapshots.)
	got := readText(t, watch)
	if got == "S 4" {
		got = readText(t, watch)
	}
	if got != "S 3" {
		t.Fatalf("watcher after node 2 died: %q, want a snapshot of 3 members", got)
	}
	if c, err := nodes[0].hub.PresenceCount(ctx, "p"); err != nil || c != 3 {
		t.Fatalf("PresenceCount after node 2 died = %d %v", c, err)
	}
	if err := watch.ExpectSilence(2 * time.Second); err != nil {
		t.Fatal(err) // a second snapshot, or leaves
	}
	var expired uint64
	for _, n := range nodes[:2] {
		expired += n.broker.Stats().PresenceExpired
	}
	if expired != 2 {
		t.Fatalf("%d members expired, want node 2's two", expired)
	}
}

// fakeSink records what a broker hands the hub about presence.
type fakeSink struct {
	mu      sync.Mutex
	events  int
	expired [][]hub.Member
}

func (f *fakeSink) DeliverEvent(string, []byte) { f.mu.Lock(); f.events++; f.mu.Unlock() }
func (f *fakeSink) Expired(_ string, now []hub.Member) {
	f.mu.Lock()
	f.expired = append(f.expired, now)
	f.mu.Unlock()
}

// A node with 10,000 members dies: the other node's sweep removes them all
// and reports it once (the hub then sends one snapshot), not 10,000 times.
func TestPresenceNodeWith10kMembersDies(t *testing.T) {
	rs, admin := startRedis(t)
	cfg := func() Config {
		return Config{URL: rs.URL(), Logger: quiet, PresenceTTL: 3 * time.Second, QueueSize: 1 << 15}
	}
	dying, err := New(cfg())
	if err != nil {
		t.Fatal(err)
	}
	survivor, err := New(cfg())
	if err != nil {
		t.Fatal(err)
	}
	defer survivor.Close()
	var sink fakeSink
	if err := survivor.AttachPresence(&sink); err != nil {
		t.Fatal(err)
	}
	survivor.Subscribe("big") // it serves the topic, so it sweeps it
	survivor.AddMember("big", hub.Member{ID: "survivor-1", Info: []byte("s")})
	const n = 10000
	for i := range n {
		dying.AddMember("big", hub.Member{ID: "d-" + strconv.Itoa(i), Info: []byte("x")})
	}
	ctx := context.Background()
	waitFor(t, "10,001 members in Redis", 10*time.Second, func() bool {
		c, _ := survivor.MemberCount(ctx, "big")
		return c == n+1
	})
	// A node refreshes all its members together (every PresenceTTL/3), so
	// after a refresh they expire together, whenever they joined.
	time.Sleep(time.Second)
	_ = dying.Close() // no removal reaches Redis
	waitFor(t, "the dead node's members swept", 10*time.Second, func() bool {
		c, _ := survivor.MemberCount(ctx, "big")
		h, _ := admin.HLen(ctx, DefaultPrefix+"p:{big}").Result()
		return c == 1 && h == 1
	})
	time.Sleep(time.Second) // a sweep or two more
	sink.mu.Lock()
	defer sink.mu.Unlock()
	// Usually one report (two if they expired across a sweep); on a
	// loaded machine (-race) the dying node's refresh of 10,000 members
	// spreads over a few sweeps. Either way a handful of snapshots, never
	// 10,000 leave events.
	if len(sink.expired) == 0 || len(sink.expired) > 10 || sink.events != 0 {
		t.Fatalf("%d expiry reports, %d events: want a few reports, no events", len(sink.expired), sink.events)
	}
	if last := sink.expired[len(sink.expired)-1]; len(last) != 1 || last[0].ID != "survivor-1" {
		t.Fatalf("members left: %+v", last)
	}
	// Every member of the dead node was removed. On a loaded machine a
	// refresh of 10,000 members can come later than the TTL while the node
	// still lives: its members then expire and come back with the refresh,
	// and count again.
	if st := survivor.Stats(); st.PresenceExpired < n || st.PresenceExpired > 4*n {
		t.Fatalf("PresenceExpired = %d, want %d (up to a few times that on a loaded machine)", st.PresenceExpired, n)
	}
}
