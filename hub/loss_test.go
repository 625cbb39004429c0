package hub

import (
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/engine"
)

// scriptedHB is a HistoryBroker whose Fetch answers what the test set.
type scriptedHB struct {
	sink  StreamSink
	fetch atomic.Pointer[FetchResult]
}

func (b *scriptedHB) Attach(DeliverFunc) error                         { return nil }
func (b *scriptedHB) Publish(string, engine.MessageType, []byte) error { return nil }
func (b *scriptedHB) Subscribe(string)                                 {}
func (b *scriptedHB) Unsubscribe(string)                               {}
func (b *scriptedHB) Close() error                                     { return nil }
func (b *scriptedHB) Append(string, HistoryRule, engine.MessageType, []byte, func(Position, error)) error {
	return nil
}

func (b *scriptedHB) AttachStreams(sink StreamSink, _ func(string) (HistoryRule, bool)) error {
	b.sink = sink
	return nil
}

func (b *scriptedHB) Fetch(_ string, _ HistoryRule, _ uint64, done func(FetchResult)) {
	res := *b.fetch.Load()
	go done(res)
}

// A loss marker in the broker's history makes a recovery from before it
// fail (Recovered false), even when the messages before it are all there
// and this node has seen nothing past them yet.
func TestRecoveryStopsAtLossMarker(t *testing.T) {
	hb := &scriptedHB{}
	cfg := histConfig(HistoryRule{Pattern: "room", Size: 10, TTL: time.Minute})
	cfg.Broker = hb
	n := startNode(t, cfg, nil)
	hb.sink.Sync("room", Position{Offset: 1, Epoch: "e"}, false) // this node: at 1, nothing held
	if p, ok := hb.sink.Position("room"); !ok || p != (Position{Offset: 1, Epoch: "e"}) {
		t.Fatalf("sink Position = %v %v", p, ok)
	}
	msg := func(off uint64, p string) HistoryEntry {
		return HistoryEntry{Offset: off, Type: engine.Text, Payload: []byte(p)}
	}
	for _, tc := range []struct {
		name    string
		entries []HistoryEntry
		top     uint64
		want    []string
	}{
		{"complete", []HistoryEntry{msg(1, "a")}, 1, []string{"R ok 1 e", "1 a"}},
		{"marker after", []HistoryEntry{msg(1, "a"), {Offset: 2, Lost: true}, msg(3, "c")}, 3, []string{"R lost 1 e"}},
		{"marker first", []HistoryEntry{{Offset: 1, Lost: true}}, 1, []string{"R lost 1 e"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hb.fetch.Store(&FetchResult{Entries: tc.entries, Epoch: "e", Top: tc.top, First: 1})
			c, _ := n.joinQuery(t, url.Values{"room": {"room"}, "since": {"0"}, "epoch": {"e"}})
			for _, want := range tc.want {
				expectMessage(t, c, ws.OpText, want)
			}
			expectSilence(t, c)
		})
	}
}
