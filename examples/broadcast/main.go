// Command broadcast is a chat room server: GET / serves a page to pick a
// name and a room and chat; the WebSocket at /ws?room=ROOM&name=NAME joins
// the room under that name, and every text message a client sends goes to
// every client in its room, the sender included, stamped by the server
// with the sender's name (a name inside the message is ignored).
//
//	go run ./examples/broadcast -addr 127.0.0.1:8080 [-compression no-context-takeover]
//
// With -tls-cert FILE -tls-key FILE (re-read on SIGHUP) or -tls-self-signed
// the page and the chat are served over https:// and wss:// on -addr, or
// over both http/ws on -addr and https/wss on -tls-addr:
//
//	go run ./examples/broadcast -addr 127.0.0.1:8443 -tls-self-signed
//
// Several instances sharing one Redis form one chat: a message sent to any
// instance reaches the room's clients on all of them.
//
//	go run ./examples/broadcast -addr 127.0.0.1:8080 -redis redis://127.0.0.1:6379
//	go run ./examples/broadcast -addr 127.0.0.1:8081 -redis redis://127.0.0.1:6379
//
// Each room keeps its last messages (-history 1000, -history-ttl 10m; in
// Redis when -redis is set, so every instance has the same history): a
// client that reconnects with its position, /ws?room=R&name=N&since=OFFSET&epoch=EPOCH,
// gets what it missed, on any instance. The page's client,
// /switchboard.js, does that by itself; docs/protocol.md describes the wire
// format. While Redis is unreachable each instance keeps serving its own
// clients; what crossed instances is recovered from the history when Redis
// is back, and what cannot be is reported to the clients (see
// docs/scaling.md).
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/examples/internal/compression"
	"github.com/switchboard-ws/switchboard/examples/internal/tlsflags"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/hub/redisbroker"
)

//go:embed index.html
var indexHTML []byte

//go:embed static/switchboard.js
var clientJS []byte

// options are the chat's settings beyond the engine's.
type options struct {
	redisURL    string        // "": this instance only
	history     int           // messages kept per room; 0: no history
	historyTTL  time.Duration // how long they are kept
	presenceTTL time.Duration // with Redis: how long a dead instance's users stay listed
}

// maxRoomLen bounds a room name.
const maxRoomLen = 64

func main() {
	cfg := engine.DefaultConfig("127.0.0.1:8080")
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	var opt options
	flag.StringVar(&opt.redisURL, "redis", "", "Redis URL (redis://host:port/db) to join other instances; empty: this instance only")
	flag.IntVar(&opt.history, "history", 1000, "messages kept per room for clients that reconnect (0: none)")
	flag.DurationVar(&opt.historyTTL, "history-ttl", 10*time.Minute, "how long a room's messages are kept")
	flag.DurationVar(&opt.presenceTTL, "presence-ttl", redisbroker.DefaultPresenceTTL, "with -redis: how long the users of an instance that died stay listed in its rooms")
	flag.IntVar(&cfg.EventLoops, "loops", 0, "event loops (0: GOMAXPROCS)")
	applyCompression := compression.Flags()
	tlsOpts := tlsflags.Flags()
	verbose := flag.Bool("v", false, "log every connection problem")
	flag.Parse()
	if err := applyCompression(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	tlsOn, err := tlsOpts.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.TLS, cfg.TLSAddr = tlsOn.Config, tlsOn.Addr

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	srv, h, err := newServer(cfg, opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer h.Close()
	startDebug(srv, h)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tlsOn.ReloadOnSignal(ctx, cfg.Logger, syscall.SIGHUP)
	go func() { // give back the memory of rooms that went quiet
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				h.ExpireHistory()
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		if addr := srv.Addr(); addr != "" {
			via := "this instance only"
			if opt.redisURL != "" {
				via = "Redis " + opt.redisURL
			}
			urls := "http://" + addr + "/"
			switch {
			case tlsOn.Enabled() && tlsOn.Addr == "":
				urls = "https://" + srv.TLSAddr() + "/"
			case tlsOn.Enabled():
				urls += " and https://" + srv.TLSAddr() + "/"
			}
			tlsOn.Print(os.Stdout)
			fmt.Printf("broadcast: chat on %s (rooms shared through %s)\n", urls, via)
		}
	}()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// newServer builds the chat server on cfg (its HTTP, Upgrade and size
// settings are set here), with a Redis broker when opt.redisURL is set.
func newServer(cfg engine.Config, opt options) (*engine.Server, *hub.Hub, error) {
	hcfg := hub.Config{
		Envelope:      envelope,
		PresenceEvent: presenceEvent,
		OnRecovery: func(c *engine.Conn, _ string, r hub.Recovery) {
			if !r.Recovered {
				_ = c.WriteText(notRecovered(r.Position))
			}
		},
	}
	if opt.history > 0 {
		hcfg.History = []hub.HistoryRule{{Pattern: "*", Size: opt.history, TTL: opt.historyTTL}}
	}
	if opt.redisURL != "" {
		b, err := redisbroker.New(redisbroker.Config{URL: opt.redisURL, Logger: cfg.Logger, PresenceTTL: opt.presenceTTL})
		if err != nil {
			return nil, nil, err
		}
		hcfg.Broker = b
	}
	h, err := hub.New(hcfg)
	if err != nil {
		return nil, nil, err
	}

	cfg.MaxMessageSize = 16 << 10
	cfg.HTTP = engine.StaticHTTP(map[string]engine.HTTPResponse{
		"/":               {ContentType: "text/html; charset=utf-8", Body: indexHTML},
		"/switchboard.js": {ContentType: "text/javascript; charset=utf-8", Body: clientJS},
		"/healthz":        {Body: []byte("ok\n")},
	})
	// The room and the user's name are decided at the upgrade and kept as
	// the connection's value (see member).
	cfg.Upgrade = func(r *engine.UpgradeRequest, resp *engine.UpgradeResponse) error {
		if string(r.Path) != "/ws" {
			return &engine.HTTPError{Status: 404, Body: "not found\n"}
		}
		q, err := url.ParseQuery(string(r.RawQuery))
		if err != nil {
			return &engine.HTTPError{Status: 400, Body: "bad query\n"}
		}
		room := q.Get("room")
		if err := checkRoom(room); err != nil {
			return &engine.HTTPError{Status: 400, Body: err.Error() + "\n"}
		}
		name := q.Get("name")
		if err := checkName(name); err != nil {
			return &engine.HTTPError{Status: 400, Body: err.Error() + "\n"}
		}
		m := &member{room: room, name: name}
		if q.Has("since") {
			off, err := strconv.ParseUint(q.Get("since"), 10, 64)
			if err != nil || len(q.Get("epoch")) > 64 {
				return &engine.HTTPError{Status: 400, Body: "since must be an offset and epoch at most 64 characters\n"}
			}
			m.since = &hub.Position{Offset: off, Epoch: q.Get("epoch")}
		}
		resp.Value = m
		return nil
	}
	app := engine.Handlers{
		Open: func(c *engine.Conn) {
			m := c.Value().(*member)
			// With a position: what was missed first, then live. As a
			// member of the room's presence: everyone hears of the join.
			o := hub.SubscribeOptions{Since: m.since, Info: memberInfo(m)}
			err := h.SubscribeWith(c, m.room, o)
			if err == hub.ErrNoHistory {
				_ = c.WriteText(notRecovered(hub.Position{}))
				o.Since = nil
				_ = h.SubscribeWith(c, m.room, o)
			}
			// Who is there (read from Redis with -redis: not on the loop).
			h.PresenceAsync(m.room, func(ms []hub.Member, err error) {
				if err == nil {
					_ = c.WriteText(presenceList(ms))
				}
			})
		},
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			if typ != engine.Text {
				return // the chat carries text only
			}
			m := c.Value().(*member)
			msg, err := stamp(m, data) // the server says who sent it
			if err != nil {
				return
			}
			// The frame is encoded once for the whole room.
			_, _ = h.Publish(m.room, engine.Text, msg)
		},
	}
	// h.Handler leaves the room when a connection closes.
	srv, err := engine.New(cfg, h.Handler(app))
	if err != nil {
		_ = h.Close()
		return nil, nil, err
	}
	return srv, h, nil
}

func checkRoom(room string) error {
	if room == "" || len(room) > maxRoomLen {
		return fmt.Errorf("room must be 1 to %d characters", maxRoomLen)
	}
	for _, r := range room {
		ok := r == '-' || r == '_' || r == '.' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
		if !ok {
			return errors.New("room may hold only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}
