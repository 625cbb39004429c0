package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// A real server with a hub: three clients connect and join a room, the hub
// publishes to it, every client sends two messages (echoed), one closes
// normally, one sends a message over MaxMessageSize (closed 1009), and a
// plain HTTP request is refused. The registry then reports each of these.
func TestEngineAndHubMetrics(t *testing.T) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	app := engine.Handlers{
		Open: func(c *engine.Conn) { _ = h.Subscribe(c, "room") },
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			_ = c.WriteMessage(typ, data)
		},
	}
	srv, addr := startServer(t, h.Handler(app), func(cfg *engine.Config) {
		cfg.MaxMessageSize = 1024
		cfg.InboundBudget = 1 << 20
		cfg.MaxConnections = 100
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(Config{Engine: srv, Hub: h, ConstLabels: prometheus.Labels{"server": "test"}}))

	var clients []*wstest.Client
	for range 3 {
		c, err := wstest.Dial(addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		clients = append(clients, c)
	}
	waitFor(t, "three subscribers", 5*time.Second, func() bool { return h.Subscribers("room") == 3 })
	if _, err := h.Publish("room", engine.Text, []byte("news")); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if _, p, err := c.ReadMessage(5 * time.Second); err != nil || string(p) != "news" {
			t.Fatalf("client %d: got %q, %v", i, p, err)
		}
		for range 2 {
			if err := c.WriteText("hello"); err != nil {
				t.Fatal(err)
			}
			if _, p, err := c.ReadMessage(5 * time.Second); err != nil || string(p) != "hello" {
				t.Fatalf("client %d: echo %q, %v", i, p, err)
			}
		}
	}
	// Client 0 closes normally (1000, cause "peer").
	if err := clients[0].WriteClose(1000, "bye"); err != nil {
		t.Fatal(err)
	}
	code, reason0, err := clients[0].ExpectClose(5 * time.Second)
	if err != nil || code != 1000 {
		t.Fatalf("close echo: %d, %v", code, err)
	}
	_ = clients[0].Close()
	// Client 1 passes MaxMessageSize (1009, cause "message_too_big").
	if err := clients[1].WriteBinary(make([]byte, 2000)); err != nil {
		t.Fatal(err)
	}
	code, reason1, err := clients[1].ExpectClose(5 * time.Second)
	if err != nil || code != 1009 {
		t.Fatalf("too big: close %d, %v", code, err)
	}
	_ = clients[1].Close()
	// A plain HTTP request is answered and refused ("not_upgrade").
	raw, err := wstest.DialRaw(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.WriteRaw([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if resp, _, err := raw.ReadHTTPResponse(5 * time.Second); err != nil || resp.StatusCode != 426 {
		t.Fatalf("plain request: %v, %v", resp, err)
	}
	_ = raw.Close()
	waitFor(t, "one connection left, two closes counted", 5*time.Second, func() bool {
		st := srv.Stats()
		return st.Open == 1 && len(st.CloseCauses) == 2 && h.Subscribers("room") == 1
	})

	got := gather(t, reg)
	const l = "server=test"
	// frames: 3 published + 6 echoes + 2 close frames (1000 echoed, 1009).
	// bytes: published and echoed frames are 2 header bytes + payload; the
	// close frames carry a code and the reason the clients read.
	closeBytes := float64(2+2+len(reason0)) + float64(2+2+len(reason1))
	check(t, got, []sample{
		{"switchboard_connections", gaugeT, l, 1},
		{"switchboard_connections_limit", gaugeT, l, 100},
		{"switchboard_upgrades_total", counterT, l, 3},
		{"switchboard_rejections_total", counterT, "reason=not_upgrade," + l, 1},
		{"switchboard_closes_total", counterT, "code=1000," + l, 1},
		{"switchboard_closes_total", counterT, "code=1009," + l, 1},
		{"switchboard_close_causes_total", counterT, "cause=peer," + l, 1},
		{"switchboard_close_causes_total", counterT, "cause=message_too_big," + l, 1},
		{"switchboard_messages_received_total", counterT, l, 6},
		{"switchboard_received_payload_bytes_total", counterT, l, 6 * 5},
		{"switchboard_frames_sent_total", counterT, l, 3 + 6 + 2},
		{"switchboard_sent_bytes_total", counterT, l, 3*(2+4) + 6*(2+5) + closeBytes},
		{"switchboard_outbound_dropped_total", counterT, l, 0},
		{"switchboard_rate_limited_total", counterT, l, 0},
		{"switchboard_inbound_buffered_bytes", gaugeT, l, 0},
		{"switchboard_inbound_budget_bytes", gaugeT, l, 1 << 20},
		{"switchboard_inbound_budget_refused_total", counterT, l, 0},
		{"switchboard_hub_topics", gaugeT, l, 1},
		{"switchboard_hub_subscriptions", gaugeT, l, 1},
		{"switchboard_hub_published_total", counterT, l, 1},
		{"switchboard_hub_received_total", counterT, l, 0},
		{"switchboard_hub_delivered_total", counterT, l, 3},
		{"switchboard_hub_dropped_total", counterT, l, 0},
		{"switchboard_hub_overflows_total", counterT, l, 0},
		{"switchboard_hub_compressed_total", counterT, l, 0}, // no deflate
		{"switchboard_hub_delivered_compressed_total", counterT, l, 0},
		{"switchboard_hub_history_streams", gaugeT, l, 0}, // no history rule
		{"switchboard_hub_recoveries_total", counterT, l, 0},
	})
	if _, ok := got["switchboard_inbound_buffered_peak_bytes{"+l+"}"]; !ok {
		t.Error("switchboard_inbound_buffered_peak_bytes missing")
	}
	for key := range got {
		if strings.HasPrefix(key, "switchboard_redis_") {
			t.Errorf("%s reported without a broker", key)
		}
	}
}

// Every metric follows the Prometheus naming conventions (promlint), and
// Describe announces everything Collect sends.
func TestConventions(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"engine", Config{Engine: fakeEngine{}}},
		{"hub", Config{Hub: fakeHub{}}},
		{"hub without history", Config{Hub: plainHub{}}},
		{"broker", Config{Broker: fakeBroker{}}},
		{"all", Config{Engine: fakeEngine{}, Hub: fakeHub{}, Broker: fakeBroker{}}},
		{"none", Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.cfg)
			_, hist := tt.cfg.Hub.(HistorySource)
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("%s: %s", p.Metric, p.Text)
			}
			// A pedantic registry checks collected metrics against Describe.
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(c)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				if !strings.HasPrefix(mf.GetName(), "switchboard_") {
					t.Errorf("%s: no switchboard_ prefix", mf.GetName())
				}
				if strings.HasPrefix(mf.GetName(), "switchboard_hub_history_") && !hist {
					t.Errorf("%s reported for a hub source without History", mf.GetName())
				}
			}
		})
	}
}

// Values come through unchanged, booleans as 0/1, labelled maps as series.
func TestValues(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(Config{Engine: fakeEngine{}, Hub: fakeHub{}, Broker: fakeBroker{}}))
	check(t, gather(t, reg), []sample{
		{"switchboard_connections", gaugeT, "", 7},
		{"switchboard_connections_limit", gaugeT, "", 1000},
		{"switchboard_rejections_total", counterT, "reason=per_ip", 4},
		{"switchboard_closes_total", counterT, "code=4001", 2},
		{"switchboard_close_causes_total", counterT, "cause=write_stall", 3},
		{"switchboard_outbound_dropped_total", counterT, "", 11},
		{"switchboard_rate_limited_total", counterT, "", 12},
		{"switchboard_inbound_buffered_bytes", gaugeT, "", 4096},
		{"switchboard_inbound_buffered_peak_bytes", gaugeT, "", 8192},
		{"switchboard_inbound_budget_bytes", gaugeT, "", 1 << 30},
		{"switchboard_inbound_budget_refused_total", counterT, "", 5},
		{"switchboard_pending_upgrades", gaugeT, "", 6},
		{"switchboard_tls_handshakes_in_progress", gaugeT, "", 3},
		{"switchboard_tls_handshakes_queued", gaugeT, "", 1},
		{"switchboard_tls_handshakes_total", counterT, "", 40},
		{"switchboard_tls_handshakes_failed_total", counterT, "", 2},
		{"switchboard_tls_alerts_total", counterT, "", 1},
		{"switchboard_deflate_inflated_total", counterT, "", 14},
		{"switchboard_deflate_deflated_total", counterT, "", 15},
		{"switchboard_deflate_inflated_in_bytes_total", counterT, "", 140},
		{"switchboard_deflate_inflated_out_bytes_total", counterT, "", 1400},
		{"switchboard_deflate_deflated_in_bytes_total", counterT, "", 1500},
		{"switchboard_deflate_deflated_out_bytes_total", counterT, "", 150},
		{"switchboard_deflate_too_big_total", counterT, "", 1},
		{"switchboard_hub_overflows_total", counterT, "", 9},
		{"switchboard_hub_compressed_total", counterT, "", 4},
		{"switchboard_hub_compressed_in_bytes_total", counterT, "", 4000},
		{"switchboard_hub_compressed_out_bytes_total", counterT, "", 400},
		{"switchboard_hub_delivered_compressed_total", counterT, "", 10},
		{"switchboard_redis_connected", gaugeT, "", 1},
		{"switchboard_redis_publishing", gaugeT, "", 0},
		{"switchboard_redis_topics", gaugeT, "", 2},
		{"switchboard_redis_lost_total", counterT, "", 13},
		{"switchboard_redis_reconnects_total", counterT, "", 1},
		{"switchboard_redis_round_trips_total", counterT, "", 8},
		{"switchboard_redis_unreplicated_total", counterT, "", 5},
		{"switchboard_redis_caught_up_total", counterT, "", 6},
		{"switchboard_redis_gaps_total", counterT, "", 1},
		{"switchboard_redis_history_fetches_total", counterT, "", 3},
		{"switchboard_redis_presence_dropped_total", counterT, "", 2},
		{"switchboard_redis_presence_expired_total", counterT, "", 7},
		{"switchboard_redis_loss_pending", gaugeT, "", 2},
		{"switchboard_redis_loss_markers_total", counterT, "", 3},
		{"switchboard_redis_loss_reports_total", counterT, "", 4},
		{"switchboard_hub_history_streams", gaugeT, "", 2},
		{"switchboard_hub_history_entries", gaugeT, "", 50},
		{"switchboard_hub_history_bytes", gaugeT, "", 9000},
		{"switchboard_hub_history_evicted_total", counterT, "", 3},
		{"switchboard_hub_history_replayed_total", counterT, "", 40},
		{"switchboard_hub_recoveries_total", counterT, "", 4},
		{"switchboard_hub_recoveries_failed_total", counterT, "", 1},
		{"switchboard_hub_lost_reports_total", counterT, "", 2},
	})
}
