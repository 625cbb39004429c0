package metrics

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard-ws/switchboard/engine"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startServer runs a server on a free loopback port for the test's life.
func startServer(t *testing.T, h engine.Handler, tweak func(*engine.Config)) (*engine.Server, string) {
	t.Helper()
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 2
	cfg.TickInterval = 20 * time.Millisecond
	cfg.PingInterval = 0
	cfg.Logger = quiet
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := engine.New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	addr := srv.Addr()
	if addr == "" {
		cancel()
		t.Fatalf("server did not start: %v", <-errc)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-errc:
		case <-time.After(15 * time.Second):
			t.Error("server did not stop within 15s")
		}
	})
	return srv, addr
}

// waitFor polls cond every 5ms for up to d.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sample is one expected series: its family's name and type, its labels
// (name=value pairs, comma-separated; "" for none) and value.
type sample struct {
	name   string
	typ    dto.MetricType
	labels string
	value  float64
}

// gather collects reg and indexes every series as "name{labels}".
func gather(t *testing.T, reg *prometheus.Registry) map[string]series {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := make(map[string]series)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var kv []string
			for _, lp := range m.GetLabel() {
				kv = append(kv, lp.GetName()+"="+lp.GetValue())
			}
			v := m.GetGauge().GetValue()
			if mf.GetType() == dto.MetricType_COUNTER {
				v = m.GetCounter().GetValue()
			}
			out[mf.GetName()+"{"+strings.Join(kv, ",")+"}"] = series{mf.GetType(), v}
		}
	}
	return out
}

type series struct {
	typ   dto.MetricType
	value float64
}

// check compares the gathered series with want.
func check(t *testing.T, got map[string]series, want []sample) {
	t.Helper()
	for _, w := range want {
		key := w.name + "{" + w.labels + "}"
		g, ok := got[key]
		switch {
		case !ok:
			t.Errorf("%s: missing", key)
		case g.typ != w.typ:
			t.Errorf("%s: type %v, want %v", key, g.typ, w.typ)
		case g.value != w.value:
			t.Errorf("%s = %v, want %v", key, g.value, w.value)
		}
	}
}

const (
	counterT = dto.MetricType_COUNTER
	gaugeT   = dto.MetricType_GAUGE
)
