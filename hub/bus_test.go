package hub

import (
	"strconv"
	"testing"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// Three hubs on three servers joined by a Bus: a publish on any of them
// reaches every subscriber once, and a node takes a topic from the bus only
// while it has subscribers for it.
func TestBusAcrossNodes(t *testing.T) {
	bus := NewBus()
	var nodes []*node
	for range 3 {
		nodes = append(nodes, startNode(t, Config{Broker: bus.Broker()}, nil))
	}
	var clients []*wstest.Client
	for _, n := range nodes {
		for range 2 {
			c, _ := n.join(t, "room")
			clients = append(clients, c)
		}
	}
	other, _ := nodes[2].join(t, "other")
	for i, n := range nodes {
		msg := "from " + strconv.Itoa(i)
		if _, err := n.hub.Publish("room", engine.Text, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		for _, c := range clients {
			expectMessage(t, c, ws.OpText, msg)
		}
	}
	for _, c := range clients {
		expectSilence(t, c)
	}
	expectSilence(t, other)
	if st := nodes[1].hub.Stats(); st.Published != 1 || st.Received != 2 {
		t.Fatalf("node 1 stats: %+v", st)
	}

	bus.mu.Lock()
	_, hasOther := bus.topics["other"]
	nOther := len(*bus.topics["other"].nodes.Load())
	bus.mu.Unlock()
	if !hasOther || nOther != 1 {
		t.Fatalf("bus topic other: %v %d nodes", hasOther, nOther)
	}
	_ = other.Close()
	waitFor(t, "node 2 leaves topic other on the bus", func() bool {
		bus.mu.Lock()
		defer bus.mu.Unlock()
		return bus.topics["other"] == nil
	})
	if _, err := New(Config{Broker: nodes[0].hub.broker}); err != ErrAttached {
		t.Fatalf("second attach: %v", err)
	}
}
