package hub

import (
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// One client stops reading while 1k connections receive a steady broadcast:
// its outbound buffer stops at the limit and the close policy applies,
// server memory stays bounded, every other client gets every message, and
// their delivery latency is logged before and with the slow client (the
// figures go in the closing note; timing is not asserted on a shared
// machine).
func TestSlowConsumerAmongThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("1k connections: skipped with -short")
	}
	if raceEnabled {
		// The race detector slows the 1k reading clients 5-10x, so they
		// fall behind like the slow one; make test runs this without it.
		t.Skip("load test: run without -race (make test's load step)")
	}
	const (
		fast     = 1000
		size     = 2 << 10
		interval = 10 * time.Millisecond
		phase    = 300 // publishes per phase
		warmup   = 100 // unmeasured publishes first
		total    = warmup + 2*phase
	)
	n := startNode(t, Config{}, func(c *engine.Config) {
		c.MaxOutbound = 256 << 10
		c.SocketSendBuffer = 32 << 10
		c.OutboundPolicy = engine.PolicyClose
	})
	var clients []*wstest.Client
	for range fast {
		c, _ := n.joinWithin(t, 30*time.Second, "feed")
		clients = append(clients, c)
	}

	// Every fast client reads every message and records its latency.
	var mu sync.Mutex
	lat := map[int][]time.Duration{} // phase -> latencies
	received := make([]int, fast)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for received[i] < total {
				_, p, err := c.ReadMessage(10 * time.Second)
				if err != nil {
					t.Errorf("client %d after %d messages: %v", i, received[i], err)
					return
				}
				sent := time.Unix(0, int64(binary.BigEndian.Uint64(p)))
				ph := int(p[8])
				mu.Lock()
				lat[ph] = append(lat[ph], time.Since(sent))
				mu.Unlock()
				received[i]++
			}
		}()
	}
	payload := make([]byte, size)
	publish := func(ph, count int) {
		for range count {
			binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
			payload[8] = byte(ph)
			if _, err := n.hub.Publish("feed", engine.Binary, payload); err != nil {
				t.Fatal(err)
			}
			time.Sleep(interval)
		}
	}

	publish(255, warmup) // let 1000 reader goroutines and the heap settle
	publish(0, phase)    // before: everyone reads
	heapBefore := heapInUse()
	// With: one subscriber that never reads, joined between publishes (a
	// handshake behind 1000 busy readers on a loaded 2-core machine can
	// take seconds).
	slow, slowConn := n.joinWithin(t, 30*time.Second, "feed")
	_ = slow.Conn.(interface{ SetReadBuffer(int) error }).SetReadBuffer(16 << 10)
	publish(1, phase)
	wg.Wait()

	// The slow one passed its limit: under PolicyClose it got close 1008
	// behind its backlog and, never reading, was cut at the close timeout.
	waitFor(t, "the slow subscriber to be closed", slowConn.Closed)
	if n := n.srv.Stats().Closes[codec.ClosePolicyViolation]; n != 1 {
		t.Fatalf("%d connections closed with 1008, want the slow one", n)
	}
	if err := slow.ExpectEOF(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if grown := int64(heapInUse()) - int64(heapBefore); grown > 16<<20 {
		t.Fatalf("server heap grew by %d KiB with the slow subscriber", grown>>10)
	}
	for i, r := range received {
		if r != total {
			t.Fatalf("fast client %d got %d of %d messages", i, r, total)
		}
	}
	p := func(ph int, q float64) time.Duration {
		l := slices.Clone(lat[ph])
		slices.Sort(l)
		return l[int(q*float64(len(l)-1))]
	}
	t.Logf("delivery latency to %d fast subscribers, %d B every %v: before p50 %v p99 %v; with a slow subscriber p50 %v p99 %v",
		fast, size, interval, p(0, 0.5), p(0, 0.99), p(1, 0.5), p(1, 0.99))
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
