package redisbroker_test

import (
	"log"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/hub/redisbroker"
)

// Every node runs the same code against the same Redis: a publish on any
// node reaches the topic's subscribers on all of them.
func Example() {
	b, err := redisbroker.New(redisbroker.Config{URL: "redis://127.0.0.1:6379/0"})
	if err != nil {
		log.Fatal(err)
	}
	h, err := hub.New(hub.Config{Broker: b})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close() // closes b too
	srv, err := engine.New(engine.DefaultConfig("127.0.0.1:8080"), h.Handler(engine.Handlers{
		Open:    func(c *engine.Conn) { _ = h.Subscribe(c, "news") },
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _, _ = h.Publish("news", typ, data) },
	}))
	if err != nil {
		log.Fatal(err)
	}
	_ = srv // srv.Run(ctx)
}
