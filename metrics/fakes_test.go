package metrics

import (
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/hub/redisbroker"
)

type fakeEngine struct{}

func (fakeEngine) Stats() engine.Stats {
	return engine.Stats{
		Open: 7, MaxConns: 1000, Accepted: 20,
		Rejected:   map[string]uint64{"per_ip": 4},
		MessagesIn: 100, MessagesOut: 200, BytesIn: 1000, BytesOut: 2000,
		Dropped: 11, RateLimited: 12,
		Closes:              map[codec.CloseCode]uint64{4001: 2, 1008: 3},
		CloseCauses:         map[string]uint64{"write_stall": 3, "application": 2},
		InboundBuffered:     4096,
		InboundBufferedPeak: 8192,
		InboundBudget:       1 << 30,
		BudgetRefused:       5,
		PendingUpgrades:     6,
		TLS:                 engine.TLSStats{HandshakesInProgress: 3, HandshakesQueued: 1, HandshakesCompleted: 40, HandshakesFailed: 2, Alerts: 1},
		Deflate:             engine.DeflateStats{Inflated: 14, InflatedBytesIn: 140, InflatedBytesOut: 1400, Deflated: 15, DeflatedBytesIn: 1500, DeflatedBytesOut: 150, TooBig: 1},
	}
}

type fakeHub struct{}

func (fakeHub) Stats() hub.Stats {
	return hub.Stats{Topics: 3, Subscriptions: 6, Published: 1, Received: 2, Delivered: 12, Dropped: 1, Overflows: 9,
		Compressed: 4, CompressedBytesIn: 4000, CompressedBytesOut: 400, DeliveredCompressed: 10}
}

func (fakeHub) History() hub.HistoryStats {
	return hub.HistoryStats{Streams: 2, Entries: 50, Bytes: 9000, Evicted: 3, Replayed: 40, Recovery: 4, Failed: 1, Lost: 2}
}

// plainHub has no History method: no history metrics.
type plainHub struct{}

func (plainHub) Stats() hub.Stats { return hub.Stats{} }

type fakeBroker struct{}

func (fakeBroker) Stats() redisbroker.Stats {
	return redisbroker.Stats{Connected: true, Topics: 2, Published: 10, Lost: 13, Received: 4, Own: 10, Invalid: 0, Reconnects: 1,
		RoundTrips: 8, Unreplicated: 5, CaughtUp: 6, Gaps: 1, Fetches: 3, PresenceDropped: 2, PresenceExpired: 7,
		LossPending: 2, LossMarkers: 3, LossReports: 4}
}
