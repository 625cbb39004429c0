package engine

import (
	"runtime"
	"testing"
)

// EventLoops 0 follows GOMAXPROCS (a container's CPU limit), not the
// host's CPU count; an explicit value is kept; a negative one is refused.
func TestEventLoopsDefault(t *testing.T) {
	prev := runtime.GOMAXPROCS(3)
	defer runtime.GOMAXPROCS(prev)
	for _, tc := range []struct {
		loops, want int
		ok          bool
	}{
		{0, 3, true}, {1, 1, true}, {7, 7, true}, {-1, 0, false},
	} {
		cfg := DefaultConfig("127.0.0.1:0")
		cfg.EventLoops = tc.loops
		got, err := cfg.normalize()
		if (err == nil) != tc.ok || (tc.ok && got.EventLoops != tc.want) {
			t.Errorf("EventLoops %d: got %d, %v", tc.loops, got.EventLoops, err)
		}
	}
}
