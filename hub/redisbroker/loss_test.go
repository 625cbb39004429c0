package redisbroker

import (
	"context"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// Redis goes away and comes back with its data, three times. Nothing
// published during the first outage: nobody is told anything. During the
// second and third, node A publishes: its own client gets the messages
// (offset 0), B's client cannot, and once Redis is back A appends a loss
// marker, so both clients hear "R lost" exactly once (met in the stream
// when the subscriptions come back after it, the second time; on the
// channel or in the stream, the third), then the numbered messages go on.
// A client recovering from before the marker is told Recovered false.
func TestHistoryLossReported(t *testing.T) {
	rs, admin := startRedis(t)
	var hold atomic.Bool
	release := make(chan struct{})
	beforeSubscribe = func(ctx context.Context) {
		if hold.Load() {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}
	t.Cleanup(func() { beforeSubscribe = nil })
	a, b := startHistNode(t, rs.URL()), startHistNode(t, rs.URL())
	ca, cb := a.dial(t, url.Values{"room": {"g"}}), b.dial(t, url.Values{"room": {"g"}})
	a.synced(t, "g")
	b.synced(t, "g")
	subscribed := func() bool { return a.broker.Subscribed("g") && b.broker.Subscribed("g") }
	waitFor(t, "both nodes subscribed", 10*time.Second, subscribed)
	both := []*wstest.Client{ca, cb}
	expect := func(want string, cs ...*wstest.Client) {
		t.Helper()
		for i, c := range cs {
			if got := readText(t, c); got != want {
				t.Fatalf("client %d: got %q, want %q", i, got, want)
			}
		}
	}
	ctx := context.Background()
	publish := func(n *hnode, p string, want uint64) {
		t.Helper()
		pos, err := n.hub.PublishWait(ctx, "g", engine.Text, []byte(p))
		if err != nil || pos.Offset != want {
			t.Fatalf("PublishWait(%s) = %v %v, want offset %d", p, pos, err, want)
		}
	}
	publish(a, "m1", 1)
	publish(b, "m2", 2)
	expect("1 m1", both...)
	expect("2 m2", both...)
	epoch := a.synced(t, "g").Epoch
	outage := func() {
		t.Helper()
		if err := admin.Save(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		rs.Stop()
	}
	local := func(p string) {
		t.Helper()
		if _, err := a.hub.PublishWait(ctx, "g", engine.Text, []byte(p)); err != hub.ErrNotReplicated {
			t.Fatalf("PublishWait while Redis is down: %v, want ErrNotReplicated", err)
		}
		expect("0 "+p, ca)
	}

	// 1. Nothing published during the outage: nothing to report.
	outage()
	rs.Restart(t)
	waitFor(t, "both nodes subscribed again", 10*time.Second, subscribed)
	time.Sleep(300 * time.Millisecond) // past A's publisher's retry time
	publish(a, "m3", 3)
	expect("3 m3", both...)
	if sa, sb := a.broker.Stats(), b.broker.Stats(); sa.LossMarkers+sb.LossMarkers+sa.LossReports+sb.LossReports+uint64(sa.LossPending) != 0 {
		t.Fatalf("loss reported with nothing lost: A %+v B %+v", sa, sb)
	}

	// 2. A publishes during the outage; the subscriptions come back only
	// after its marker is in the stream: each node meets it catching up.
	outage()
	local("x1")
	local("x2")
	if err := cb.ExpectSilence(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st := a.broker.Stats(); st.LossPending != 1 || st.Unreplicated != 2 {
		t.Fatalf("A during the outage: %+v", st)
	}
	hold.Store(true)
	rs.Restart(t)
	waitFor(t, "A's loss marker", 10*time.Second, func() bool { return a.broker.Stats().LossMarkers == 1 })
	hold.Store(false)
	close(release)
	expect("R lost 4 "+epoch, both...)
	waitFor(t, "both nodes subscribed again", 10*time.Second, subscribed)
	publish(a, "m5", 5)
	expect("5 m5", both...)
	for _, c := range both {
		if err := c.ExpectSilence(200 * time.Millisecond); err != nil {
			t.Fatal(err) // one report each, no more
		}
	}

	// A client recovering on B from before the marker is told; from the
	// marker on, it recovers.
	for _, tc := range []struct {
		n     *hnode
		since int
		want  []string
	}{
		{b, 3, []string{"R lost 5 " + epoch}},
		{b, 1, []string{"R lost 5 " + epoch}},
		{a, 3, []string{"R lost 5 " + epoch}},
		{b, 4, []string{"R ok 5 " + epoch, "5 m5"}},
		{a, 4, []string{"R ok 5 " + epoch, "5 m5"}},
	} {
		c := tc.n.dial(t, url.Values{"room": {"g"}, "since": {strconv.Itoa(tc.since)}, "epoch": {epoch}})
		for _, want := range tc.want {
			if got := readText(t, c); got != want {
				t.Fatalf("recovering from %d: got %q, want %q", tc.since, got, want)
			}
		}
		if err := c.ExpectSilence(100 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	}

	// 3. Again, with nothing held: the marker comes on the channel or,
	// if B's subscription is not back yet, from the stream; once either way.
	outage()
	local("y1")
	rs.Restart(t)
	expect("R lost 6 "+epoch, both...)
	waitFor(t, "both nodes subscribed again", 10*time.Second, subscribed)
	publish(a, "m7", 7)
	expect("7 m7", both...)
	if err := cb.ExpectSilence(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	sa, sb := a.broker.Stats(), b.broker.Stats()
	if sa.LossMarkers != 2 || sa.LossPending != 0 || sb.LossMarkers != 0 || sa.LossReports != 2 || sb.LossReports != 2 || sa.LossOverflows != 0 {
		t.Fatalf("A %+v B %+v", sa, sb)
	}
	if h := b.hub.History(); h.Lost < 2 || h.Failed < 2 {
		t.Fatalf("B's hub: %+v", h)
	}
}
