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
