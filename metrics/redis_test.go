package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/hub/redisbroker"
	"github.com/switchboard-ws/switchboard/hub/redisbroker/redistest"
)

// A hub on a Redis broker publishes once on a channel the broker is
// subscribed to: Redis takes it and sends it back, and the broker drops its
// own message. Skips when redis-server is not installed.
func TestRedisBrokerMetrics(t *testing.T) {
	rs := redistest.Start(t)
	b, err := redisbroker.New(redisbroker.Config{
		URL:        rs.URL(),
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond,
		Logger:     quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(hub.Config{Broker: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() }) // closes the broker too
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(Config{Hub: h, Broker: b}))

	b.Subscribe("room") // as the hub does for a topic's first local subscriber
	waitFor(t, "subscription confirmed", 10*time.Second, func() bool { return b.Subscribed("room") })
	if _, err := h.Publish("room", engine.Text, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "own message back", 10*time.Second, func() bool { return b.Stats().Own == 1 })

	check(t, gather(t, reg), []sample{
		{"switchboard_redis_connected", gaugeT, "", 1},
		{"switchboard_redis_publishing", gaugeT, "", 1},
		{"switchboard_redis_topics", gaugeT, "", 1},
		{"switchboard_redis_published_total", counterT, "", 1},
		{"switchboard_redis_lost_total", counterT, "", 0},
		{"switchboard_redis_received_total", counterT, "", 0},
		{"switchboard_redis_own_total", counterT, "", 1},
		{"switchboard_redis_invalid_total", counterT, "", 0},
		{"switchboard_redis_reconnects_total", counterT, "", 0},
		{"switchboard_redis_unreplicated_total", counterT, "", 0},
		{"switchboard_redis_loss_pending", gaugeT, "", 0},
		{"switchboard_redis_loss_markers_total", counterT, "", 0},
		{"switchboard_redis_loss_reports_total", counterT, "", 0},
		{"switchboard_hub_published_total", counterT, "", 1},
		{"switchboard_hub_received_total", counterT, "", 0},
	})
}
