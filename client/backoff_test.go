package client

import (
	"errors"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
)

func TestBackoffWindow(t *testing.T) {
	var b Backoff // defaults: 1s, x2, 30s
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for n, w := range want {
		if got := b.Window(n); got != w {
			t.Fatalf("Window(%d) = %v, want %v", n, got, w)
		}
	}
	if got := b.Window(10000); got != 30*time.Second {
		t.Fatalf("Window(10000) = %v (overflow)", got)
	}
	custom := Backoff{Initial: 100 * time.Millisecond, Multiplier: 3, Max: time.Second}
	for n, w := range []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 900 * time.Millisecond, time.Second} {
		if got := custom.Window(n); got != w {
			t.Fatalf("custom Window(%d) = %v, want %v", n, got, w)
		}
	}
}

func TestBackoffDelayBoundsAndJitter(t *testing.T) {
	var b Backoff
	for _, tc := range []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{0, 0, 0},
		{0, 0.5, 500 * time.Millisecond},
		{1, 0.5, time.Second},
		{3, 0.25, 2 * time.Second},
		{20, 0.5, 15 * time.Second},
		{20, 1.5, 30 * time.Second}, // clamped r
		{20, -1, 0},
	} {
		if got := b.Delay(tc.n, tc.r); got != tc.want {
			t.Fatalf("Delay(%d, %v) = %v, want %v", tc.n, tc.r, got, tc.want)
		}
	}
	if got := (Backoff{NoJitter: true}).Delay(2, 0.1); got != 4*time.Second {
		t.Fatalf("NoJitter Delay = %v", got)
	}
	// Spread: 10,000 delays of attempt 3 fill [0, 8s) evenly (full jitter).
	rng := rand.New(rand.NewPCG(1, 2))
	var buckets [8]int
	for i := 0; i < 10000; i++ {
		d := b.Delay(3, rng.Float64())
		if d < 0 || d >= 8*time.Second {
			t.Fatalf("delay %v out of [0, 8s)", d)
		}
		buckets[d/time.Second]++
	}
	for i, n := range buckets {
		if n < 1000 || n > 1500 { // expected 1250 each
			t.Fatalf("bucket %d has %d of 10000: not uniform (%v)", i, n, buckets)
		}
	}
}

func TestDefaultRetry(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"server restart 1001", &CloseError{Code: codec.CloseGoingAway, Remote: true}, true},
		{"connection lost 1006", &CloseError{Code: codec.CloseAbnormal, Remote: true, Err: ErrConnectionLost}, true},
		{"pong timeout", &CloseError{Code: codec.CloseAbnormal, Err: ErrPongTimeout}, true},
		{"try again later 1013", &CloseError{Code: codec.CloseTryAgainLater, Remote: true}, true},
		{"internal error 1011", &CloseError{Code: codec.CloseInternalError, Remote: true}, true},
		{"normal 1000", &CloseError{Code: codec.CloseNormal, Remote: true}, false},
		{"policy 1008", &CloseError{Code: codec.ClosePolicyViolation, Remote: true}, false},
		{"protocol 1002", &CloseError{Code: codec.CloseProtocolError}, false},
		{"too big 1009", &CloseError{Code: codec.CloseMessageTooBig}, false},
		{"app code 4000", &CloseError{Code: 4000, Remote: true}, true},
		{"401", &HandshakeError{Status: 401}, false},
		{"403", &HandshakeError{Status: 403}, false},
		{"404", &HandshakeError{Status: 404}, false},
		{"429", &HandshakeError{Status: 429}, true},
		{"408", &HandshakeError{Status: 408}, true},
		{"503", &HandshakeError{Status: 503}, true},
		{"bad 101", &HandshakeError{Status: 101, Reason: "bad Sec-WebSocket-Accept"}, false},
		{"proxy 407", &HandshakeError{Status: 407, Proxy: true}, false},
		{"proxy 502", &HandshakeError{Status: 502, Proxy: true}, true},
		{"refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
	} {
		if got := DefaultRetry(tc.err); got != tc.want {
			t.Errorf("%s: DefaultRetry = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRoomTracker(t *testing.T) {
	rt := NewRoomTracker()
	steps := []struct {
		msg      string
		observed bool
		want     RoomPosition
	}{
		{`{"offset":1,"epoch":"e1","data":"a"}`, true, RoomPosition{1, "e1"}},
		{`{"offset":2,"epoch":"e1","data":"b"}`, true, RoomPosition{2, "e1"}},
		{`{"offset":1,"epoch":"e1","data":"a"}`, true, RoomPosition{2, "e1"}}, // replayed: keep the furthest
		{`not json`, false, RoomPosition{2, "e1"}},
		{`{"data":"no position"}`, false, RoomPosition{2, "e1"}},
		{`{"recovered":false,"epoch":"e2","offset":40}`, true, RoomPosition{40, "e2"}},
		{`{"offset":41,"epoch":"e2","data":"c"}`, true, RoomPosition{41, "e2"}},
	}
	for i, s := range steps {
		if got := rt.Observe("lobby", []byte(s.msg)); got != s.observed {
			t.Fatalf("step %d: Observe = %v", i, got)
		}
		if p, _ := rt.Position("lobby"); p != s.want {
			t.Fatalf("step %d: position %+v, want %+v", i, p, s.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"ws://h/ws?room=lobby", "ws://h/ws?epoch=e2&room=lobby&since=41"},
		{"ws://h/ws?room=lobby&since=3&epoch=e1", "ws://h/ws?epoch=e2&room=lobby&since=41"},
		{"ws://h/ws?room=other", "ws://h/ws?room=other"},
		{"ws://h/ws", "ws://h/ws"},
	} {
		if got := rt.URL(nil, tc.in); got != tc.want {
			t.Fatalf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
