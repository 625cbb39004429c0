package engine

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// soakDuration is 20s in `make test`; `make soak` sets SWITCHBOARD_SOAK to
// something longer. -short runs 2s.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("SWITCHBOARD_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SWITCHBOARD_SOAK: %v", err)
		}
		return d
	}
	if testing.Short() {
		return 2 * time.Second
	}
	return 20 * time.Second
}

// Thousands of connect/upgrade/message/close cycles leave no growth in file
// descriptors, goroutines or memory.
func TestChurnSoak(t *testing.T) {
	srv, addr := startServer(t, Handlers{
		Message: func(c *Conn, typ MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
	}, nil)

	settle := func() (fds, goroutines int, heap uint64) {
		waitFor(t, "connections to drain", func() bool { return srv.Stats().Open == 0 })
		time.Sleep(50 * time.Millisecond)
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return openFDs(), runtime.NumGoroutine(), ms.HeapInuse
	}
	cycle := func(i int) error {
		c, err := wstest.Dial(addr, &wstest.DialOptions{LocalAddr: []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}[i%3]})
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.WriteText("ping-pong payload"); err != nil {
			return err
		}
		if _, _, err := c.ReadMessage(5 * time.Second); err != nil {
			return err
		}
		switch i % 3 {
		case 0: // clean close handshake
			if err := c.WriteClose(1000, "bye"); err != nil {
				return err
			}
			_, _, err = c.ExpectClose(5 * time.Second)
			return err
		case 1: // abrupt TCP close
			return nil
		default: // a half-sent frame, then gone
			return c.WriteRaw([]byte{0x81, 0x85, 1, 2})
		}
	}
	for i := range 200 { // warm pools and the runtime
		if err := cycle(i); err != nil {
			t.Fatal(err)
		}
	}
	fds0, g0, heap0 := settle()

	var cycles atomic.Int64
	var failed atomic.Pointer[error] // the first failure (workers fail with different error types)
	stop := time.Now().Add(soakDuration(t))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; time.Now().Before(stop) && failed.Load() == nil; i += 8 {
				if err := cycle(i); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				cycles.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatalf("after %d cycles: %v", cycles.Load(), *err)
	}
	fds1, g1, heap1 := settle()
	t.Logf("%d cycles; fds %d→%d, goroutines %d→%d, heap in use %d→%d KiB",
		cycles.Load(), fds0, fds1, g0, g1, heap0>>10, heap1>>10)
	if cycles.Load() < 1000 && !testing.Short() {
		t.Errorf("only %d cycles ran", cycles.Load())
	}
	if fds1 > fds0+4 {
		t.Errorf("file descriptors grew from %d to %d", fds0, fds1)
	}
	if g1 > g0+4 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if heap1 > heap0+4<<20 {
		t.Errorf("heap in use grew from %d to %d KiB", heap0>>10, heap1>>10)
	}
}

// Graceful shutdown with 1k clients: every client receives close 1001
// before TCP closes.
func TestShutdownThousandClients(t *testing.T) {
	srv, addr := startServer(t, Handlers{}, func(c *Config) { c.EventLoops = 2 })
	const n = 1000
	clients := make([]*wstest.Client, 0, n)
	for i := range n {
		c, err := wstest.Dial(addr, &wstest.DialOptions{LocalAddr: []string{"127.0.0.1", "127.0.0.2"}[i%2]})
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		clients = append(clients, c)
	}
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	waitFor(t, "all upgraded", func() bool { return srv.Stats().Accepted == n })
	results := make(chan error, n)
	for _, c := range clients {
		go func() {
			code, _, err := c.ExpectClose(15 * time.Second)
			if err == nil && code != 1001 {
				err = &CloseError{Code: 1001}
			}
			results <- err
		}()
	}
	ctx, cancel := contextWithTimeout(15 * time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range n {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
}
