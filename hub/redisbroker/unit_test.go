package redisbroker

import (
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
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
