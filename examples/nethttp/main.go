// Command nethttp mounts a switchboard echo server at /ws on an ordinary
// net/http server, beside a health check and a small page. The handshake
// runs in net/http (routing, middleware, blocking auth all work there);
// the connection then moves onto the engine's event loops.
//
//	go run ./examples/nethttp -addr 127.0.0.1:8080
//
// then open http://127.0.0.1:8080/ or connect to ws://127.0.0.1:8080/ws.
// The engine also listens on -engine-addr (loopback, any free port by
// default); that listener serves the same handlers without net/http.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
)

const page = `<!doctype html>
<title>switchboard on net/http</title>
<input id=msg value="hello"> <button onclick="s.send(msg.value)">send</button>
<pre id=log></pre>
<script>
const s = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
s.onmessage = e => log.textContent += e.data + "\n";
s.onopen = () => log.textContent += "open\n";
s.onclose = e => log.textContent += "closed " + e.code + "\n";
</script>
`

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "net/http listen address")
	cfg := engine.DefaultConfig("127.0.0.1:0")
	flag.StringVar(&cfg.Addr, "engine-addr", cfg.Addr, "the engine's own listen address (port 0: any free port)")
	flag.IntVar(&cfg.EventLoops, "loops", 0, "event loops (0: GOMAXPROCS)")
	flag.DurationVar(&cfg.PingInterval, "ping-interval", cfg.PingInterval, "ping a quiet connection after this long (0 disables)")
	flag.DurationVar(&cfg.PongTimeout, "pong-timeout", cfg.PongTimeout, "close when nothing comes back this long after a ping (0 disables)")
	flag.DurationVar(&cfg.TickInterval, "tick", cfg.TickInterval, "timer wheel tick")
	flag.Int64Var(&cfg.MaxMessageSize, "max-message", cfg.MaxMessageSize, "largest message accepted, in bytes (bigger: close 1009)")
	flag.IntVar(&cfg.MaxOutbound, "max-outbound", cfg.MaxOutbound, "bytes queued per connection (past it: close 1008)")
	flag.IntVar(&cfg.MaxMessagesPerSecond, "rate-messages", cfg.MaxMessagesPerSecond, "messages per second per connection (0 disables)")
	flag.IntVar(&cfg.MaxBytesPerSecond, "rate-bytes", cfg.MaxBytesPerSecond, "payload bytes per second per connection (0 disables)")
	flag.IntVar(&cfg.MaxConnsPerIP, "max-conns-per-ip", cfg.MaxConnsPerIP, "connections per client IP (0: unlimited)")
	flag.IntVar(&cfg.MaxHandshakesPerSecond, "max-handshakes", cfg.MaxHandshakesPerSecond, "new connections per second, server-wide (0: unlimited)")
	verbose := flag.Bool("v", false, "log every connection problem")
	flag.Parse()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			_ = c.WriteMessage(typ, data) // on the event loop: do not block
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /ws", srv.HTTPHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		st := srv.Stats()
		fmt.Fprintf(w, "ok: %d open, %d accepted\n", st.Open, st.Accepted)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	})
	web := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 2)
	go func() { errc <- srv.Run(ctx) }() // on ctx end: close 1001 to every WebSocket
	go func() {
		if err := web.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go func() {
		if a := srv.Addr(); a != "" {
			fmt.Printf("nethttp: http://%s/ (WebSocket at ws://%s/ws; engine listener %s)\n", *addr, *addr, a)
		}
	}()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = web.Shutdown(sctx) // hijacked connections are not net/http's any more
	<-srv.Done()
}
