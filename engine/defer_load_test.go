package engine

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// 5,000 handshakes wait on a slow (100 ms) auth backend while an open
// connection keeps echoing: the loops stay responsive, and every handshake
// completes. Run by make load (without -race).
func TestDeferredUpgradeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("5k connections: skipped with -short")
	}
	if raceEnabled {
		t.Skip("load test: run without -race (make test's load step)")
	}
	const (
		conns   = 5000
		dialers = 5000 // all at once: 5,000 decisions pending together
		auth    = 100 * time.Millisecond
	)
	hook := func(r *UpgradeRequest, _ *UpgradeResponse) error {
		if string(r.Path) == "/echo" {
			return nil
		}
		d, err := r.Defer()
		if err != nil {
			return err
		}
		user := string(r.RawQuery)
		go func() { // the auth backend: one slow lookup per decision
			time.Sleep(auth)
			_ = d.Accept(UpgradeResponse{Value: user})
		}()
		return nil
	}
	echoHandler := Handlers{Message: func(c *Conn, typ MessageType, data []byte) { _ = c.WriteMessage(typ, data) }}
	srv, addr := startServer(t, echoHandler, func(c *Config) {
		c.Upgrade = hook
		c.MaxHandshakesPerSecond = 0
		c.PingInterval = 0
	})
	echo := dial(t, addr, &wstest.DialOptions{Path: "/echo"})

	start := time.Now()
	var (
		failed atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		open   []*wstest.Client
	)
	for w := range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < conns; i += dialers {
				c, err := wstest.Dial(addr, &wstest.DialOptions{Path: fmt.Sprintf("/?u%d", i), Timeout: 15 * time.Second})
				if err != nil {
					failed.Add(1)
					continue
				}
				mu.Lock()
				open = append(open, c)
				mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() {
		for _, c := range open {
			_ = c.Close()
		}
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var rtts []time.Duration
	msg := []byte("ping")
	maxPending := int64(0)
measure:
	for {
		select {
		case <-done:
			break measure
		default:
		}
		t0 := time.Now()
		if err := echo.WriteBinary(msg); err != nil {
			t.Fatal(err)
		}
		if _, _, err := echo.ReadMessage(5 * time.Second); err != nil {
			t.Fatal(err)
		}
		rtts = append(rtts, time.Since(t0))
		maxPending = max(maxPending, srv.Stats().PendingUpgrades)
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d handshakes failed", n, conns)
	}
	st := srv.Stats()
	if st.Accepted != conns+1 || st.PendingUpgrades != 0 {
		t.Fatalf("accepted %d (want %d), pending %d", st.Accepted, conns+1, st.PendingUpgrades)
	}
	slices.Sort(rtts)
	q := func(p float64) time.Duration { return rtts[int(p*float64(len(rtts)-1))] }
	t.Logf("%d deferred handshakes (%v auth) in %v, up to %d pending; echo RTT over %d round trips: p50 %v p99 %v max %v",
		conns, auth, elapsed.Round(time.Millisecond), maxPending, len(rtts), q(0.5), q(0.99), rtts[len(rtts)-1])
	// A hook that blocked its loop for the 100 ms lookup would hold each
	// loop for 2,500 × 100 ms: echoes would wait seconds. The bound is far
	// above what a quiet run shows (p99 ~55–135 ms on 2 shared cores, where
	// the test's own 5,000 dialers take most of the CPU; ~15–35 ms with 500
	// dialers in flight) so a busy CI machine does not fail it; the figures
	// are logged above.
	if p99 := q(0.99); p99 > time.Second {
		t.Fatalf("echo p99 %v during the deferred handshakes, want under 1s", p99)
	}
	if elapsed > 20*time.Second {
		t.Fatalf("took %v", elapsed)
	}
}
