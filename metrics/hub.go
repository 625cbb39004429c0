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
		counter("switchboard_hub_compressed_total",
			"Publishes compressed once for subscribers that share a compressed frame (permessage-deflate).", cl,
			func(s *S) float64 { return float64(s.Compressed) }),
		counter("switchboard_hub_compressed_in_bytes_total",
			"Payload bytes of those publishes before compression.", cl,
			func(s *S) float64 { return float64(s.CompressedBytesIn) }),
		counter("switchboard_hub_compressed_out_bytes_total",
			"Payload bytes of those publishes after compression.", cl,
			func(s *S) float64 { return float64(s.CompressedBytesOut) }),
		counter("switchboard_hub_delivered_compressed_total",
			"Frames written to subscribers compressed (of switchboard_hub_delivered_total).", cl,
			func(s *S) float64 { return float64(s.DeliveredCompressed) }),
	}}
}

func (d *hubDescs) describe(ch chan<- *prometheus.Desc) { describeFields(ch, d.fields) }

func (d *hubDescs) collect(ch chan<- prometheus.Metric, st hub.Stats) {
	collectFields(ch, d.fields, &st)
}

type historyDescs struct{ fields []field[hub.HistoryStats] }

func newHistoryDescs(cl prometheus.Labels) *historyDescs {
	type S = hub.HistoryStats
	return &historyDescs{fields: []field[S]{
		gauge("switchboard_hub_history_streams",
			"Topics with a history stream on this node.", cl,
			func(s *S) float64 { return float64(s.Streams) }),
		gauge("switchboard_hub_history_entries",
			"Messages held in the in-memory history.", cl,
			func(s *S) float64 { return float64(s.Entries) }),
		gauge("switchboard_hub_history_bytes",
			"Bytes of history counted against MaxHistoryBytes.", cl,
			func(s *S) float64 { return float64(s.Bytes) }),
		counter("switchboard_hub_history_evicted_total",
			"History entries dropped early, or not kept, for the memory bound.", cl,
			func(s *S) float64 { return float64(s.Evicted) }),
		counter("switchboard_hub_history_replayed_total",
			"Messages delivered from history by recoveries.", cl,
			func(s *S) float64 { return float64(s.Replayed) }),
		counter("switchboard_hub_recoveries_total",
			"Subscriptions from a position that recovered everything missed.", cl,
			func(s *S) float64 { return float64(s.Recovery) }),
		counter("switchboard_hub_recoveries_failed_total",
			"Subscriptions from a position that could not recover (too old, epoch changed).", cl,
			func(s *S) float64 { return float64(s.Failed) }),
		counter("switchboard_hub_lost_reports_total",
			"Reports to live subscribers of messages the hub could not deliver.", cl,
			func(s *S) float64 { return float64(s.Lost) }),
	}}
}

func (d *historyDescs) describe(ch chan<- *prometheus.Desc) { describeFields(ch, d.fields) }

func (d *historyDescs) collect(ch chan<- prometheus.Metric, st hub.HistoryStats) {
	collectFields(ch, d.fields, &st)
}
