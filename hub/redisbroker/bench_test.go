package redisbroker

import (
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/hub/redisbroker/redistest"
)

// BenchmarkPublishHistoryRedis publishes 64-byte messages as fast as
// Publish takes them, on a topic with history in Redis Streams (each is
// numbered, appended and published by one script) or without history
// (PUBLISH), and waits until Redis has taken them all. round-trips/op is
// the publishing round trips to Redis per message: 1 when they come one at
// a time (history=redis-one-at-a-time waits for each before the next),
// less when they pile up and go out in one pipeline.
//
//	go test -run '^$' -bench PublishHistoryRedis ./hub/redisbroker
func BenchmarkPublishHistoryRedis(b *testing.B) {
	for _, mode := range []string{"off", "redis", "redis-one-at-a-time"} {
		b.Run("history="+mode, func(b *testing.B) {
			rs := redistest.Start(b)
			br, err := New(Config{URL: rs.URL(), Logger: quiet, QueueSize: 1 << 16})
			if err != nil {
				b.Fatal(err)
			}
			cfg := hub.Config{Broker: br}
			if mode != "off" {
				cfg.History = []hub.HistoryRule{{Pattern: "*", Size: 1000, TTL: time.Minute}}
			}
			h, err := hub.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			payload := make([]byte, 64)
			b.ResetTimer()
			for i := range b.N {
				for mode == "redis-one-at-a-time" && br.Stats().Published < uint64(i) {
					time.Sleep(20 * time.Microsecond) // wait for the previous one
				}
				for {
					_, err := h.Publish("t", engine.Binary, payload)
					if err == nil {
						break
					}
					if err != ErrQueueFull {
						b.Fatal(err)
					}
					time.Sleep(100 * time.Microsecond) // let the queue drain
				}
			}
			deadline := time.Now().Add(60 * time.Second)
			for br.Stats().Published < uint64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("Redis took %d of %d", br.Stats().Published, b.N)
				}
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			st := br.Stats()
			b.ReportMetric(float64(st.RoundTrips)/float64(b.N), "round-trips/op")
		})
	}
}
