package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/hub/redisbroker"
)

// EngineSource is what the collector reads engine figures from: an
// *engine.Server.
type EngineSource interface{ Stats() engine.Stats }

// HubSource is what the collector reads hub figures from: a *hub.Hub.
type HubSource interface{ Stats() hub.Stats }

// HistorySource is what a HubSource also implements when the collector
// reports its history and recovery figures: a *hub.Hub does.
type HistorySource interface{ History() hub.HistoryStats }

// BrokerSource is what the collector reads Redis broker figures from: a
// *redisbroker.Broker.
type BrokerSource interface{ Stats() redisbroker.Stats }

// Config says what a Collector reports. Each source may be nil: its
// metrics are then left out.
type Config struct {
	Engine EngineSource
	Hub    HubSource
	Broker BrokerSource
	// ConstLabels are added to every metric, e.g. {"server": "chat"} when
	// one process registers collectors for several servers.
	ConstLabels prometheus.Labels
}

// Collector is a prometheus.Collector over a server's Stats. It reads them
// once per scrape; it is safe for concurrent use.
type Collector struct {
	cfg    Config
	engine *engineDescs
	hub    *hubDescs
	hist   *historyDescs
	broker *brokerDescs
}

// New returns a Collector for cfg.
func New(cfg Config) *Collector {
	c := &Collector{cfg: cfg}
	if cfg.Engine != nil {
		c.engine = newEngineDescs(cfg.ConstLabels)
	}
	if cfg.Hub != nil {
		c.hub = newHubDescs(cfg.ConstLabels)
		if _, ok := cfg.Hub.(HistorySource); ok {
			c.hist = newHistoryDescs(cfg.ConstLabels)
		}
	}
	if cfg.Broker != nil {
		c.broker = newBrokerDescs(cfg.ConstLabels)
	}
	return c
}

// Describe sends the descriptors of every metric c may report.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	if c.engine != nil {
		c.engine.describe(ch)
	}
	if c.hub != nil {
		c.hub.describe(ch)
	}
	if c.hist != nil {
		c.hist.describe(ch)
	}
	if c.broker != nil {
		c.broker.describe(ch)
	}
}

// Collect reads the sources' Stats and sends their metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.engine != nil {
		c.engine.collect(ch, c.cfg.Engine.Stats())
	}
	if c.hub != nil {
		c.hub.collect(ch, c.cfg.Hub.Stats())
	}
	if c.hist != nil {
		c.hist.collect(ch, c.cfg.Hub.(HistorySource).History())
	}
	if c.broker != nil {
		c.broker.collect(ch, c.cfg.Broker.Stats())
	}
}

// field is one unlabelled metric read from a Stats struct S.
type field[S any] struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	val  func(*S) float64
}

func gauge[S any](name, help string, cl prometheus.Labels, val func(*S) float64) field[S] {
	return field[S]{prometheus.NewDesc(name, help, nil, cl), prometheus.GaugeValue, val}
}

func counter[S any](name, help string, cl prometheus.Labels, val func(*S) float64) field[S] {
	return field[S]{prometheus.NewDesc(name, help, nil, cl), prometheus.CounterValue, val}
}

func describeFields[S any](ch chan<- *prometheus.Desc, fs []field[S]) {
	for _, f := range fs {
		ch <- f.desc
	}
}

func collectFields[S any](ch chan<- prometheus.Metric, fs []field[S], st *S) {
	for _, f := range fs {
		ch <- prometheus.MustNewConstMetric(f.desc, f.typ, f.val(st))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
