package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/metrics"
)

// Register a collector for a server and serve it to Prometheus on a
// separate listener (here an httptest server; in production a private
// address such as 127.0.0.1:6060, never the WebSocket port).
func Example() {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, _ := engine.New(cfg, engine.Handlers{})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go srv.Run(ctx)

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(metrics.Config{Engine: srv})) // add Hub and Broker when used
	debug := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer debug.Close()

	// A plain HTTP request on the WebSocket port is refused: 426 Upgrade Required.
	if resp, err := http.Get("http://" + srv.Addr() + "/"); err == nil {
		resp.Body.Close()
		fmt.Println("websocket port:", resp.StatusCode)
	}

	// What Prometheus scrapes.
	resp, err := http.Get(debug.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "switchboard_rejections_total") || strings.HasPrefix(line, "switchboard_upgrades_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// websocket port: 426
	// switchboard_rejections_total{reason="not_upgrade"} 1
	// switchboard_upgrades_total 0
}
