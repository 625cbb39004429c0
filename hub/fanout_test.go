package hub

import (
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// The fan-out harness: one topic, subs subscribers, one 64-byte message
// published at a time. The clients read raw bytes into a fixed buffer
// (nothing allocates on their side; on Linux a few threads read all the
// sockets through epoll, as a C load generator would, so the clients cost
// the shared CPUs as little as possible) and the read that completes the
// last copy of a message stamps the time: that is the message's fan-out
// latency, measured at the clients.

const fanPayload = 64
const fanFrame = 2 + fanPayload // header + payload

// fanReaders reads frames from conns and sends, for each message every
// conn has received, the time the last copy arrived.
type fanReaders struct {
	timer   *time.Timer
	subs    int64
	copies  atomic.Int64
	done    chan int64 // UnixNano of the last copy of each message
	wg      sync.WaitGroup
	stop    atomic.Bool
	readErr atomic.Value
}

func newFanReaders(conns []net.Conn) *fanReaders {
	r := &fanReaders{subs: int64(len(conns)), done: make(chan int64, 16), timer: time.NewTimer(time.Hour)}
	if r.startEpoll(conns) {
		return r
	}
	for _, c := range conns {
		r.wg.Go(func() { r.read(c) })
	}
	return r
}

// got accounts for m whole frames received by one client.
func (r *fanReaders) got(m int64) {
	v := r.copies.Add(m)
	if v/r.subs > (v-m)/r.subs {
		r.done <- time.Now().UnixNano()
	}
}

// close stops the readers and closes conns.
func (r *fanReaders) close(conns []net.Conn) {
	r.stop.Store(true)
	for _, c := range conns {
		_ = c.Close()
	}
	r.wg.Wait()
}

func (r *fanReaders) read(c net.Conn) {
	var buf [16 << 10]byte
	var pending int // bytes of a frame not yet complete
	for {
		n, err := c.Read(buf[:])
		if err != nil {
			if err != io.EOF && !strings.Contains(err.Error(), "use of closed") {
				r.readErr.Store(err.Error())
			}
			return
		}
		pending += n
		m := int64(pending / fanFrame)
		pending %= fanFrame
		if m > 0 {
			r.got(m)
		}
	}
}

// fanClients dials n clients; dial spreads them over source addresses.
func fanClients(tb testing.TB, addr string, n int) []net.Conn {
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := wstest.Dial(addr, &wstest.DialOptions{
			LocalAddr: "127.0.0." + strconv.Itoa(2+i%8),
			Timeout:   20 * time.Second,
		})
		if err != nil {
			tb.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c.Conn)
	}
	return conns
}

func collectOpens(tb testing.TB, n *node, count int) []*engine.Conn {
	tb.Helper()
	out := make([]*engine.Conn, 0, count)
	for len(out) < count {
		select {
		case c := <-n.opens:
			out = append(out, c)
		case <-time.After(30 * time.Second):
			tb.Fatalf("only %d of %d connections opened", len(out), count)
		}
	}
	return out
}

func subscribeAll(tb testing.TB, h *Hub, conns []*engine.Conn, topic string) {
	tb.Helper()
	for _, c := range conns {
		if err := h.Subscribe(c, topic); err != nil {
			tb.Fatal(err)
		}
	}
	// Subscribe from here is queued: wait until the loops have made them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var made int
		h.mu.RLock()
		loops := make([]*loopState, 0, len(h.loops))
		for _, ls := range h.loops {
			loops = append(loops, ls)
		}
		h.mu.RUnlock()
		for _, ls := range loops {
			ch := make(chan int, 1)
			_ = ls.loop.Execute(func() {
				sum := 0
				for _, m := range ls.members {
					for _, s := range m.subs {
						if s.sh.t.name == topic {
							sum++
						}
					}
				}
				ch <- sum
			})
			made += <-ch
		}
		if made == len(conns) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d subscriptions made", made, len(conns))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// BenchmarkFanout publishes one 64-byte message at a time to every
// subscriber and waits until the last one has it. allocs/op is the whole
// process's allocations per publish (hub, engine, gnet, clients); p50 and
// p99 are the fan-out latencies measured at the clients.
//
//	go test -run '^$' -bench Fanout -benchmem ./hub
func BenchmarkFanout(b *testing.B) {
	for _, loops := range []int{1, 2, 4} {
		for _, subs := range []int{100, 1000} {
			b.Run(fmt.Sprintf("loops=%d/subs=%d", loops, subs), func(b *testing.B) {
				benchFanout(b, loops, subs)
			})
		}
	}
}

// fanServer starts a server for fan-out measurements.
func fanServer(tb testing.TB, loops int) *node { return fanServerCfg(tb, loops, Config{}) }

// fanServerCfg is fanServer with a hub configuration.
func fanServerCfg(tb testing.TB, loops int, cfg Config) *node {
	return startNode(tb, cfg, func(c *engine.Config) {
		c.EventLoops = loops
		// No timers: the engine's tick hands each loop a task (which
		// allocates in gnet) and would be counted against publishes.
		c.TickInterval = time.Hour
		c.HandshakeTimeout, c.CloseTimeout, c.WriteStallTimeout = 0, 0, 0
	})
}

// fanSetup starts a server with loops event loops and subs subscribers to
// "fan", and readers for them.
func fanSetup(tb testing.TB, loops, subs int) (*node, *fanReaders) {
	return fanSetupCfg(tb, loops, subs, Config{})
}

// fanSetupCfg is fanSetup with a hub configuration.
func fanSetupCfg(tb testing.TB, loops, subs int, cfg Config) (*node, *fanReaders) {
	n := fanServerCfg(tb, loops, cfg)
	conns := fanClients(tb, n.addr, subs)
	subscribeAll(tb, n.hub, collectOpens(tb, n, subs), "fan")
	r := newFanReaders(conns)
	tb.Cleanup(func() { r.close(conns) })
	return n, r
}

// publishWait publishes one message to "fan" and returns when every
// subscriber has it, with the time the last copy arrived.
func publishWait(tb testing.TB, n *node, r *fanReaders, payload []byte) (start, end int64) {
	start = time.Now().UnixNano()
	if _, err := n.hub.Publish("fan", engine.Binary, payload); err != nil {
		tb.Fatal(err)
	}
	r.timer.Reset(10 * time.Second)
	select {
	case end = <-r.done:
	case <-r.timer.C:
		tb.Fatalf("fan-out not complete after 10s: %d copies (read error: %v); hub %+v",
			r.copies.Load(), r.readErr.Load(), n.hub.Stats())
	}
	return start, end
}

func benchFanout(b *testing.B, loops, subs int) {
	n, r := fanSetup(b, loops, subs)
	payload := make([]byte, fanPayload)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start, end := publishWait(b, n, r, payload)
		lat = append(lat, time.Duration(end-start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
}

// TestPublishAllocs checks that a publish allocates O(event loops), not
// O(subscribers): the same small number for 50 and for 500 subscribers.
func TestPublishAllocs(t *testing.T) {
	checkPublishAllocs(t, "", Config{}, 0)
}

// checkPublishAllocs measures the allocations of one publish to 50 and to
// 500 subscribers on 2 loops (after warm publishes) and wants at most one
// frame plus one wake-up of each loop (gnet's EventLoop.Execute allocates
// a closure and a queue node); never one per subscriber.
func checkPublishAllocs(t *testing.T, what string, cfg Config, warm int) {
	if raceEnabled {
		// The race detector makes sync.Pool drop items at random.
		t.Skip("allocation counts are not stable under -race (make test's load step runs this)")
	}
	const loops = 2
	payload := make([]byte, fanPayload)
	measure := func(subs int) float64 {
		n, r := fanSetupCfg(t, loops, subs, cfg)
		for range warm {
			publishWait(t, n, r, payload)
		}
		// The least of three runs: on a busy machine a loop is now and
		// then woken twice for one publish.
		least := math.Inf(1)
		for range 3 {
			least = min(least, testing.AllocsPerRun(200, func() { publishWait(t, n, r, payload) }))
		}
		return least
	}
	small, large := measure(50), measure(500)
	t.Logf("allocations per publish%s with %d loops: %.1f (50 subscribers), %.1f (500 subscribers)", what, loops, small, large)
	if limit := float64(1 + 2*loops); small > limit || large > limit {
		t.Fatalf("allocations per publish: %.1f and %.1f, want at most %.0f", small, large, limit)
	}
}
