package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ws/switchboard/engine"
)

type engineDescs struct {
	fields     []field[engine.Stats]
	rejections *prometheus.Desc
	closes     *prometheus.Desc
	causes     *prometheus.Desc
}

func newEngineDescs(cl prometheus.Labels) *engineDescs {
	type S = engine.Stats
	return &engineDescs{
		fields: []field[S]{
			gauge("switchboard_connections",
				"Connections open now, handshaking ones included.", cl,
				func(s *S) float64 { return float64(s.Open) }),
			gauge("switchboard_connections_limit",
				"The connection ceiling in force (MaxConnections, or the open-file limit less FDHeadroom).", cl,
				func(s *S) float64 { return float64(s.MaxConns) }),
			counter("switchboard_upgrades_total",
				"WebSocket upgrades completed.", cl,
				func(s *S) float64 { return float64(s.Accepted) }),
			counter("switchboard_messages_received_total",
				"Data messages received.", cl,
				func(s *S) float64 { return float64(s.MessagesIn) }),
			counter("switchboard_received_payload_bytes_total",
				"Payload bytes of the data messages received.", cl,
				func(s *S) float64 { return float64(s.BytesIn) }),
			counter("switchboard_frames_sent_total",
				"Frames written, data and control.", cl,
				func(s *S) float64 { return float64(s.MessagesOut) }),
			counter("switchboard_sent_bytes_total",
				"Bytes written, frame headers included.", cl,
				func(s *S) float64 { return float64(s.BytesOut) }),
			counter("switchboard_outbound_dropped_total",
				"Outbound messages dropped at MaxOutbound under PolicyDrop.", cl,
				func(s *S) float64 { return float64(s.Dropped) }),
			counter("switchboard_rate_limited_total",
				"Inbound messages over the rate limits (MaxMessagesPerSecond, MaxBytesPerSecond).", cl,
				func(s *S) float64 { return float64(s.RateLimited) }),
			gauge("switchboard_inbound_buffered_bytes",
				"Payload bytes held now in incomplete data messages, server-wide.", cl,
				func(s *S) float64 { return float64(s.InboundBuffered) }),
			gauge("switchboard_inbound_buffered_peak_bytes",
				"The most payload bytes held at once in incomplete data messages.", cl,
				func(s *S) float64 { return float64(s.InboundBufferedPeak) }),
			gauge("switchboard_inbound_budget_bytes",
				"The server-wide bound on bytes held in incomplete messages (InboundBudget).", cl,
				func(s *S) float64 { return float64(s.InboundBudget) }),
			counter("switchboard_inbound_budget_refused_total",
				"Connections closed with 1013 because their message would have passed InboundBudget.", cl,
				func(s *S) float64 { return float64(s.BudgetRefused) }),
			gauge("switchboard_pending_upgrades",
				"Handshakes whose upgrade decision was deferred and is still awaited (bounded by MaxPendingUpgrades).", cl,
				func(s *S) float64 { return float64(s.PendingUpgrades) }),
			gauge("switchboard_tls_handshakes_in_progress",
				"TLS handshakes running now (bounded by MaxTLSHandshakes).", cl,
				func(s *S) float64 { return float64(s.TLS.HandshakesInProgress) }),
			gauge("switchboard_tls_handshakes_queued",
				"TLS handshakes waiting for a worker (TLSHandshakeWorkers).", cl,
				func(s *S) float64 { return float64(s.TLS.HandshakesQueued) }),
			counter("switchboard_tls_handshakes_total",
				"TLS handshakes completed.", cl,
				func(s *S) float64 { return float64(s.TLS.HandshakesCompleted) }),
			counter("switchboard_tls_handshakes_failed_total",
				"TLS handshakes that failed: refused by crypto/tls, abandoned by the client, or past the handshake timeout.", cl,
				func(s *S) float64 { return float64(s.TLS.HandshakesFailed) }),
			counter("switchboard_tls_alerts_total",
				"TLS connections ended by an alert or a record-layer error.", cl,
				func(s *S) float64 { return float64(s.TLS.Alerts) }),
			counter("switchboard_deflate_inflated_total",
				"Compressed (permessage-deflate) messages received.", cl,
				func(s *S) float64 { return float64(s.Deflate.Inflated) }),
			counter("switchboard_deflate_deflated_total",
				"Messages sent compressed (permessage-deflate).", cl,
				func(s *S) float64 { return float64(s.Deflate.Deflated) }),
			counter("switchboard_deflate_inflated_in_bytes_total",
				"Payload bytes of the compressed messages received, as received.", cl,
				func(s *S) float64 { return float64(s.Deflate.InflatedBytesIn) }),
			counter("switchboard_deflate_inflated_out_bytes_total",
				"Bytes of the compressed messages received, after inflation.", cl,
				func(s *S) float64 { return float64(s.Deflate.InflatedBytesOut) }),
			counter("switchboard_deflate_deflated_in_bytes_total",
				"Bytes of the messages sent compressed, before compression.", cl,
				func(s *S) float64 { return float64(s.Deflate.DeflatedBytesIn) }),
			counter("switchboard_deflate_deflated_out_bytes_total",
				"Payload bytes of the messages sent compressed, as sent.", cl,
				func(s *S) float64 { return float64(s.Deflate.DeflatedBytesOut) }),
			counter("switchboard_deflate_too_big_total",
				"Compressed messages that inflated past MaxMessageSize (closed 1009).", cl,
				func(s *S) float64 { return float64(s.Deflate.TooBig) }),
		},
		rejections: prometheus.NewDesc("switchboard_rejections_total",
			"Connections and handshakes refused, by reason.", []string{"reason"}, cl),
		closes: prometheus.NewDesc("switchboard_closes_total",
			"Upgraded connections closed, by close code (1006: no close handshake).", []string{"code"}, cl),
		causes: prometheus.NewDesc("switchboard_close_causes_total",
			"Upgraded connections closed, by cause.", []string{"cause"}, cl),
	}
}

func (d *engineDescs) describe(ch chan<- *prometheus.Desc) {
	describeFields(ch, d.fields)
	ch <- d.rejections
	ch <- d.closes
	ch <- d.causes
}

func (d *engineDescs) collect(ch chan<- prometheus.Metric, st engine.Stats) {
	collectFields(ch, d.fields, &st)
	for reason, n := range st.Rejected {
		ch <- prometheus.MustNewConstMetric(d.rejections, prometheus.CounterValue, float64(n), reason)
	}
	for code, n := range st.Closes {
		ch <- prometheus.MustNewConstMetric(d.closes, prometheus.CounterValue, float64(n), strconv.Itoa(int(code)))
	}
	for cause, n := range st.CloseCauses {
		ch <- prometheus.MustNewConstMetric(d.causes, prometheus.CounterValue, float64(n), cause)
	}
}
