package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ws/switchboard/hub/redisbroker"
)

type brokerDescs struct{ fields []field[redisbroker.Stats] }

func newBrokerDescs(cl prometheus.Labels) *brokerDescs {
	type S = redisbroker.Stats
	return &brokerDescs{fields: []field[S]{
		gauge("switchboard_redis_connected",
			"1 while the Redis subscription connection is up, else 0.", cl,
			func(s *S) float64 { return boolValue(s.Connected) }),
		gauge("switchboard_redis_publishing",
			"1 while the last attempt to publish to Redis succeeded (or none failed yet), else 0.", cl,
			func(s *S) float64 { return boolValue(s.Publishing) }),
		gauge("switchboard_redis_topics",
			"Channels Redis confirmed on the subscription connection.", cl,
			func(s *S) float64 { return float64(s.Topics) }),
		counter("switchboard_redis_published_total",
			"Messages Redis took.", cl,
			func(s *S) float64 { return float64(s.Published) }),
		counter("switchboard_redis_lost_total",
			"Messages not sent to other nodes: queue full, or Redis unreachable.", cl,
			func(s *S) float64 { return float64(s.Lost) }),
		counter("switchboard_redis_received_total",
			"Messages from other nodes handed to the hub.", cl,
			func(s *S) float64 { return float64(s.Received) }),
		counter("switchboard_redis_own_total",
			"This node's own messages coming back from Redis, dropped.", cl,
			func(s *S) float64 { return float64(s.Own) }),
		counter("switchboard_redis_invalid_total",
			"Messages on our channels that could not be decoded, dropped.", cl,
			func(s *S) float64 { return float64(s.Invalid) }),
		counter("switchboard_redis_reconnects_total",
			"Subscription connections made after the first.", cl,
			func(s *S) float64 { return float64(s.Reconnects) }),
		counter("switchboard_redis_round_trips_total",
			"Publishing round trips to Redis (one per message, or per pipelined batch).", cl,
			func(s *S) float64 { return float64(s.RoundTrips) }),
		counter("switchboard_redis_unreplicated_total",
			"History messages Redis did not take, delivered on this node only.", cl,
			func(s *S) float64 { return float64(s.Unreplicated) }),
		counter("switchboard_redis_caught_up_total",
			"Messages read from a history stream to fill a gap.", cl,
			func(s *S) float64 { return float64(s.CaughtUp) }),
		counter("switchboard_redis_gaps_total",
			"Gaps a history stream no longer covered, reported to the hub.", cl,
			func(s *S) float64 { return float64(s.Gaps) }),
		counter("switchboard_redis_history_fetches_total",
			"History reads for recoveries.", cl,
			func(s *S) float64 { return float64(s.Fetches) }),
		counter("switchboard_redis_presence_dropped_total",
			"Presence writes not made (queue full, Redis unreachable).", cl,
			func(s *S) float64 { return float64(s.PresenceDropped) }),
		counter("switchboard_redis_presence_expired_total",
			"Members of dead nodes this node's presence sweeps removed.", cl,
			func(s *S) float64 { return float64(s.PresenceExpired) }),
		gauge("switchboard_redis_loss_pending",
			"Topics with messages delivered on this node only, waiting for their loss marker.", cl,
			func(s *S) float64 { return float64(s.LossPending) }),
		counter("switchboard_redis_loss_markers_total",
			"Loss markers this node appended to history streams once Redis took its publishes again.", cl,
			func(s *S) float64 { return float64(s.LossMarkers) }),
		counter("switchboard_redis_loss_reports_total",
			"Loss markers (any node's) handed to the hub: the topic's subscribers on this node were told they missed messages.", cl,
			func(s *S) float64 { return float64(s.LossReports) }),
	}}
}

func (d *brokerDescs) describe(ch chan<- *prometheus.Desc) { describeFields(ch, d.fields) }

func (d *brokerDescs) collect(ch chan<- prometheus.Metric, st redisbroker.Stats) {
	collectFields(ch, d.fields, &st)
}
