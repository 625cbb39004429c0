package redisbroker

import (
	"math/rand/v2"
	"time"
)

// backoff returns the wait before reconnect attempt n (0 for the first
// retry): exponential from min, capped at max, with "equal jitter" (a
// random point in the upper half), so nodes that lost Redis together do
// not come back in step.
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + rand.N(half+1)
}
