package main

import (
	"fmt"
	"os"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/examples/internal/debugsrv"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/metrics"
)

// debugAddr is -debug-addr, registered before main parses the flags.
var debugAddr = debugsrv.Flag()

// startDebug serves /metrics and /debug/pprof/ on -debug-addr, if set.
func startDebug(srv *engine.Server, h *hub.Hub) {
	if _, err := debugsrv.Start(*debugAddr, metrics.Config{Engine: srv, Hub: h}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
