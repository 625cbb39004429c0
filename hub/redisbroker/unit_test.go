package redisbroker

import (
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
)

func TestEnvelope(t *testing.T) {
	var node [nodeIDLen]byte
	copy(node[:], "0123456789abcdef")
	for _, tc := range []struct {
		typ     engine.MessageType
		payload string
	}{{engine.Text, "hello"}, {engine.Binary, "\x00\xff"}, {engine.Text, ""}} {
		b := encode(&node, tc.typ, []byte(tc.payload))
		typ, from, payload, err := decode(string(b))
		if err != nil || typ != tc.typ || from != string(node[:]) || payload != tc.payload {
			t.Fatalf("round trip of %v %q: %v %q %q %v", tc.typ, tc.payload, typ, from, payload, err)
		}
	}
	for _, bad := range []string{"", "hello", "\xb1", "\xb1\x01short", "\xb1\x09" + "0123456789abcdef", "\xb2\x01" + "0123456789abcdef"} {
		if _, _, _, err := decode(bad); err == nil {
			t.Errorf("decode(%q) accepted", bad)
		}
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 5*time.Second
	for n := range 20 {
		d := backoff(n, lo, hi)
		ceil := min(lo<<min(n, 10), hi)
		if d < ceil/2 || d > ceil {
			t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, ceil/2, ceil)
		}
	}
	// Jitter: not every node waits the same.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[backoff(3, lo, hi)] = true
	}
	if len(seen) < 2 {
		t.Fatal("backoff has no jitter")
	}
}

func TestNewConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without URL or Options succeeded")
	}
	if _, err := New(Config{URL: "http://x"}); err == nil {
		t.Fatal("New with a bad URL succeeded")
	}
}

func TestDecodePositioned(t *testing.T) {
	var node [nodeIDLen]byte
	env := string(encode(&node, engine.Text, []byte("hi:there")))
	tests := []struct {
		in   string
		ok   bool
		off  uint64
		data string
	}{
		{"\xb2" + "17:ep:" + env, true, 17, "hi:there"},
		{"\xb2" + "0:ep:" + env, false, 0, ""},
		{"\xb2" + "17::" + env, false, 0, ""},
		{"\xb2" + "x:ep:" + env, false, 0, ""},
		{"\xb2" + "17:ep", false, 0, ""},
		{"\xb2" + "17:ep:junk", false, 0, ""},
		{"", false, 0, ""},
		{env, false, 0, ""},
	}
	for _, tc := range tests {
		off, epoch, typ, p, ok := decodePositioned(tc.in)
		if ok != tc.ok || (ok && (off != tc.off || epoch != "ep" || typ != engine.Text || p != tc.data)) {
			t.Errorf("decodePositioned(%q) = %d %q %v %q %v", tc.in, off, epoch, typ, p, ok)
		}
	}
}

func FuzzDecodePositioned(f *testing.F) {
	var node [nodeIDLen]byte
	f.Add("\xb2" + "17:ep:" + string(encode(&node, engine.Binary, []byte{1, 2})))
	f.Add("\xb2::")
	f.Fuzz(func(t *testing.T, s string) {
		off, epoch, _, p, ok := decodePositioned(s)
		if ok && (off == 0 || epoch == "" || len(p) > len(s)) {
			t.Fatalf("accepted %q as %d %q", s, off, epoch)
		}
	})
}

func TestDecodeLoss(t *testing.T) {
	for _, tc := range []struct {
		in    string
		off   uint64
		epoch string
		ok    bool
	}{
		{"\xb47:e1", 7, "e1", true},
		{"\xb41:x:y", 1, "x:y", true},
		{"\xb40:e1", 0, "", false}, // offsets start at 1
		{"\xb47:", 0, "", false},
		{"\xb47", 0, "", false},
		{"\xb4x:e", 0, "", false},
		{"\xb27:e1", 0, "", false},
		{"", 0, "", false},
	} {
		off, epoch, ok := decodeLoss(tc.in)
		if off != tc.off || epoch != tc.epoch || ok != tc.ok {
			t.Errorf("decodeLoss(%q) = %d %q %v, want %d %q %v", tc.in, off, epoch, ok, tc.off, tc.epoch, tc.ok)
		}
	}
}

// The set of topics waiting for a loss marker is bounded: past
// Config.MaxLossTopics, every history topic with subscribers on the node gets a
// marker instead, and the overflow is counted once per outage.
func TestLossSetBound(t *testing.T) {
	const maxLossTopics = 100
	b := &Broker{
		cfg:     Config{MaxLossTopics: maxLossTopics},
		prefix:  DefaultPrefix,
		lossy:   make(map[string]string),
		desired: map[string]struct{}{"sub-hist": {}, "sub-plain": {}, "t7": {}},
		ruleOf: func(topic string) (hub.HistoryRule, bool) {
			return hub.HistoryRule{Size: 10, TTL: time.Minute}, topic != "sub-plain"
		},
	}
	for i := range maxLossTopics {
		b.markLoss("t"+strconv.Itoa(i), "e")
	}
	b.markLoss("t7", "other") // already there: kept as it was
	if st := b.Stats(); st.LossPending != maxLossTopics || st.LossOverflows != 0 {
		t.Fatalf("at the bound: %+v", st)
	}
	b.markLoss("past", "e")
	b.markLoss("past2", "e")
	if st := b.Stats(); st.LossPending != maxLossTopics || st.LossOverflows != 1 || !b.lossPending.Load() {
		t.Fatalf("past the bound: %+v", st)
	}
	got := map[string]string{}
	taken := b.takeLoss()
	if st := b.Stats(); st.LossPending != len(taken) || b.lossPending.Load() {
		t.Fatalf("markers on their way: %d taken, %+v", len(taken), st)
	}
	for i := range taken {
		b.lossSent(&taken[i], nil, false) // answered
	}
	for _, m := range taken {
		if !m.loss || m.channel != DefaultPrefix+m.topic || m.rule.Size != 10 {
			t.Fatalf("marker %+v", m)
		}
		if _, dup := got[m.topic]; dup {
			t.Fatalf("two markers for %s", m.topic)
		}
		got[m.topic] = string(m.data)
	}
	if len(got) != maxLossTopics+1 || got["t7"] != "e" || got["sub-hist"] != "" {
		t.Fatalf("%d markers, t7 %q, sub-hist %q", len(got), got["t7"], got["sub-hist"])
	}
	for _, no := range []string{"sub-plain", "past", "past2"} {
		if _, ok := got[no]; ok {
			t.Fatalf("marker for %s", no)
		}
	}
	if st := b.Stats(); st.LossPending != 0 || b.lossPending.Load() || b.lossAll {
		t.Fatalf("after taking them: %+v", st)
	}
	// An unknown epoch is filled in by the next loss that knows it.
	b.markLoss("q", "")
	b.markLoss("q", "e2")
	if m := b.takeLoss(); len(m) != 1 || string(m[0].data) != "e2" {
		t.Fatalf("markers %+v", m)
	}
}

// A history message that finds the outbound queue full is delivered on
// this node only (by the hub): its topic waits for a loss marker too.
func TestQueueFullMarksLoss(t *testing.T) {
	b := &Broker{cfg: Config{MaxLossTopics: 10}, lossy: make(map[string]string), queue: make(chan outMsg)}
	if err := b.Append("room", hub.HistoryRule{Size: 1, TTL: time.Minute}, engine.Text, []byte("x"), nil); err != ErrQueueFull {
		t.Fatalf("Append = %v, want ErrQueueFull", err)
	}
	if st := b.Stats(); st.Lost != 1 || st.LossPending != 1 || !b.lossPending.Load() {
		t.Fatalf("%+v", st)
	}
}
