package debugsrv

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-ws/switchboard/metrics"
)

// Flag registers -debug-addr on the command line and returns its value.
func Flag() *string {
	return flag.String("debug-addr", "",
		"serve /metrics and /debug/pprof/ on this plain HTTP address, e.g. 127.0.0.1:6060 (empty: off; keep it private)")
}

// Server is a running debug listener.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Start listens on addr and serves /metrics (cfg's collector, the Go
// runtime and the process) and /debug/pprof/ until Close; it prints where. An empty addr
// starts nothing and returns nil, nil.
func Start(addr string, cfg metrics.Config) (*Server, error) {
	if addr == "" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	if err := errors.Join(
		reg.Register(metrics.New(cfg)),
		reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
	); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		MaxRequestsInFlight: 4, // a scrape reads every loop's counters: cheap, but bounded
	}))
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also serves heap, goroutine, allocs, block, mutex
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    8 << 10,
	}}
	go func() { _ = s.srv.Serve(ln) }()
	fmt.Printf("debug: http://%s/metrics and /debug/pprof/\n", s.Addr())
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and closes its connections.
func (s *Server) Close() error { return s.srv.Close() }
