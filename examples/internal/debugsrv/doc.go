// Package debugsrv serves an example's operations endpoints on a separate,
// plain HTTP listener (never the WebSocket port): /metrics for Prometheus
// (the metrics package's collector, plus Go runtime and process figures)
// and /debug/pprof/ for profiles.
//
// The examples take -debug-addr (default off). Bind it to loopback or a
// private network: pprof exposes the command line and profiles, and a CPU
// profile or trace costs the server while it runs.
package debugsrv
