package hub

import (
	"fmt"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
)

var fanHistory = Config{History: []HistoryRule{{Pattern: "fan", Size: 1000, TTL: 10 * time.Minute}}}

// TestPublishAllocsHistory: with in-memory history a publish still
// allocates O(event loops): the frame (kept in the history, not copied)
// and the loops' wake-ups, whatever the number of subscribers.
func TestPublishAllocsHistory(t *testing.T) {
	checkPublishAllocs(t, " with history", fanHistory, 1100) // past the size bound: the steady state
}

// BenchmarkPublishHistory compares publishing with in-memory history and
// without, in the same run: "fanout" waits until 100 subscribers on 2 loops
// have each message (as BenchmarkFanout), "nosubs" is the Publish call
// alone on a topic with no subscriber.
//
//	go test -run '^$' -bench PublishHistory -benchmem ./hub
func BenchmarkPublishHistory(b *testing.B) {
	for _, mode := range []string{"off", "memory"} {
		cfg := Config{}
		if mode == "memory" {
			cfg = fanHistory
		}
		b.Run("fanout/history="+mode, func(b *testing.B) {
			n, r := fanSetupCfg(b, 2, 100, cfg)
			payload := make([]byte, fanPayload)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				publishWait(b, n, r, payload)
			}
		})
		b.Run("nosubs/history="+mode, func(b *testing.B) {
			h, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, fanPayload)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := h.Publish("fan", engine.Binary, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHistoryMemory reports the heap held per history entry of a
// 64-byte message (bytes/entry), and what the hub counts for it
// (counted-B/entry, against Config.MaxHistoryBytes).
//
//	go test -run '^$' -bench HistoryMemory ./hub
func BenchmarkHistoryMemory(b *testing.B) {
	const topics, size = 100, 1000
	payload := make([]byte, fanPayload)
	for range b.N {
		h, _ := New(Config{History: []HistoryRule{{Pattern: "*", Size: size, TTL: time.Hour}}, MaxHistoryBytes: 1 << 30})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range topics * size {
			_, _ = h.Publish(fmt.Sprint(i%topics), engine.Binary, payload)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := h.History()
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(st.Entries), "bytes/entry")
		b.ReportMetric(float64(st.Bytes)/float64(st.Entries), "counted-B/entry")
		runtime.KeepAlive(h)
	}
}

// BenchmarkRecover1000 measures a recovery of 1,000 missed messages: from
// the WebSocket handshake of a client that gives its last position to its
// reading the 1,000th message.
//
//	go test -run '^$' -bench Recover1000 ./hub
func BenchmarkRecover1000(b *testing.B) {
	n := startNode(b, histConfig(HistoryRule{Pattern: "*", Size: 2000, TTL: time.Hour}), nil)
	first := mustPublish(b, n.hub, "r", "start")
	for range 1000 {
		mustPublish(b, n.hub, "r", "a 64-byte message a 64-byte message a 64-byte message 64-byte")
	}
	q := url.Values{"room": {"r"}, "since": {"1"}, "epoch": {first.Epoch}}
	b.ResetTimer()
	for range b.N {
		c, _ := n.joinQuery(b, q)
		for i := range 1001 { // "R ok ..." then 1,000 messages
			if _, _, err := c.ReadMessage(5 * time.Second); err != nil {
				b.Fatalf("message %d: %v", i, err)
			}
		}
		b.StopTimer()
		_ = c.Close()
		b.StartTimer()
	}
}
