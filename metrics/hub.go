package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ws/switchboard/hub"
)

type hubDescs struct{ fields []field[hub.Stats] }

func newHubDescs(cl prometheus.Labels) *hubDescs {
	type S = hub.Stats
	return &hubDescs{fields: []field[S]{
		gauge("switchboard_hub_topics",
			"Topics with subscribers on this node.", cl,
			func(s *S) float64 { return float64(s.Topics) }),
		gauge("switchboard_hub_subscriptions",
			"Subscriptions on this node, all topics.", cl,
			func(s *S) float64 { return float64(s.Subscriptions) }),
		counter("switchboard_hub_published_total",
			"Publish calls on this node.", cl,
			func(s *S) float64 { return float64(s.Published) }),
		counter("switchboard_hub_received_total",
			"Messages from other nodes, through the broker.", cl,
			func(s *S) float64 { return float64(s.Received) }),
		counter("switchboard_hub_delivered_total",
			"Frames written to subscribers.", cl,
			func(s *S) float64 { return float64(s.Delivered) }),
		counter("switchboard_hub_dropped_total",
			"Subscriber copies not written: outbound limit reached, or subscriber closed.", cl,
			func(s *S) float64 { return float64(s.Dropped) }),
		counter("switchboard_hub_overflows_total",
			"(publish, event loop) pairs dropped because the loop's queue was full.", cl,
			func(s *S) float64 { return float64(s.Overflows) }),
	}}
}

func (d *hubDescs) describe(ch chan<- *prometheus.Desc) { describeFields(ch, d.fields) }

func (d *hubDescs) collect(ch chan<- prometheus.Metric, st hub.Stats) {
	collectFields(ch, d.fields, &st)
}
