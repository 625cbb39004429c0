package tlsflags

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
)

// ReloadOnSignal re-reads -tls-cert and -tls-key each time one of sigs
// arrives (the examples pass SIGHUP), until ctx ends, logging the outcome;
// a failed reload keeps the pair being served. It returns at once when no
// files are in use.
func (t *TLS) ReloadOnSignal(ctx context.Context, log *slog.Logger, sigs ...os.Signal) {
	if t == nil || t.pair == nil {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		defer signal.Stop(ch)
		t.reloadLoop(ctx, log, ch)
	}()
}

func (t *TLS) reloadLoop(ctx context.Context, log *slog.Logger, ch <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
			if err := t.Reload(); err != nil {
				log.Error("tls: reload failed; still serving the previous certificate", "err", err)
				continue
			}
			log.Warn("tls: certificate reloaded", "names", t.Names, "pin", t.Pin)
		}
	}
}
