// Command storm measures a reconnect storm: N clients on one server, the
// server restarts (graceful shutdown: close 1001 to everyone, back after a
// pause), and every client reconnects with backoff and resubscribes. It
// prints, from the moment the shutdown starts, the reconnect attempts per
// 100 ms, their peak, and when the last client was back and resubscribed;
// -nojitter waits whole backoff windows for comparison. The server runs in
// a child process (this program with -serve), so each process stays under
// the open-file limit.
//
//	go run ./client/internal/storm -n 10000
//	go run ./client/internal/storm -n 10000 -nojitter
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/engine"
)

func main() {
	serve := flag.Bool("serve", false, "run the echo server (child process)")
	addr := flag.String("addr", "127.0.0.1:9401", "server address")
	n := flag.Int("n", 10000, "clients")
	down := flag.Duration("down", 2*time.Second, "time the server stays down after it has exited")
	nojitter := flag.Bool("nojitter", false, "wait whole backoff windows (no jitter)")
	loops := flag.Int("loops", 2, "event loops (client and server)")
	flag.Parse()
	if *serve {
		runServer(*addr, *loops)
		return
	}
	os.Exit(run(*addr, *n, *down, *nojitter, *loops))
}

func runServer(addr string, loops int) {
	cfg := engine.DefaultConfig(addr)
	cfg.EventLoops = loops
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { srv.Addr(); fmt.Println("ready") }()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// startServer starts the child and waits until it listens.
func startServer(addr string, loops int) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve", "-addr", addr, "-loops", fmt.Sprint(loops))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("server did not start: %v %q", err, buf)
	}
	return cmd, nil
}

func run(addr string, n int, down time.Duration, nojitter bool, loops int) int {
	srv, err := startServer(addr, loops)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cl, err := client.New(client.Config{EventLoops: loops, TickInterval: 10 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var (
		mu       sync.Mutex
		t0       time.Time // shutdown started
		attempts []time.Duration
		backs    []time.Duration
		resubs   atomic.Int64
		storming atomic.Bool
	)
	since := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return time.Since(t0)
	}
	d := &client.Dialer{Client: cl, PingInterval: -1, Reconnect: &client.Reconnect{
		Backoff: client.Backoff{NoJitter: nojitter},
		URL: func(c *client.Conn, last string) string { // runs at every attempt
			if storming.Load() {
				el := since()
				mu.Lock()
				attempts = append(attempts, el)
				mu.Unlock()
			}
			return last
		},
		OnReconnect: func(c *client.Conn) {
			el := since()
			mu.Lock()
			backs = append(backs, el)
			mu.Unlock()
			_ = c.WriteText([]byte("resubscribe"))
		},
	}}
	h := client.Handlers{Message: func(c *client.Conn, _ client.MessageType, data []byte) {
		if string(data) == "resubscribe" {
			resubs.Add(1)
		}
	}}
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := d.Dial(context.Background(), "ws://"+addr+"/", h); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		fmt.Fprintf(os.Stderr, "%d dials failed\n", failed.Load())
	}
	connected := int64(n) - failed.Load()
	time.Sleep(time.Second)

	mu.Lock()
	t0 = time.Now()
	mu.Unlock()
	storming.Store(true)
	_ = srv.Process.Signal(syscall.SIGTERM) // graceful: close 1001 to every client
	_ = srv.Wait()
	stopped := since()
	time.Sleep(down) // down for this long after it has exited
	if srv, err = startServer(addr, loops); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	upAt := since()
	deadline := time.Now().Add(90 * time.Second)
	for resubs.Load() < connected && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	end := since()
	mu.Lock()
	sort.Slice(attempts, func(i, j int) bool { return attempts[i] < attempts[j] })
	sort.Slice(backs, func(i, j int) bool { return backs[i] < backs[j] })
	hist := map[int]int{}
	peak, peakAt := 0, 0
	for _, a := range attempts {
		b := int(a / (100 * time.Millisecond))
		hist[b]++
		if hist[b] > peak {
			peak, peakAt = hist[b], b
		}
	}
	peakUp, nUp := 0, 0
	for _, a := range attempts {
		if a >= upAt {
			nUp++
		}
	}
	for k, v := range hist {
		if time.Duration(k)*100*time.Millisecond >= upAt.Truncate(100*time.Millisecond) && v > peakUp {
			peakUp = v
		}
	}
	mode := "full jitter"
	if nojitter {
		mode = "no jitter"
	}
	fmt.Printf("%s: %d clients; server stopped after %v (1001 sent), listening again at %v\n", mode, connected, stopped.Round(time.Millisecond), upAt.Round(time.Millisecond))
	fmt.Printf("attempts %d; peak %d in one 100 ms bucket (at %.1f s); back %d, resubscribed %d; last back at %v\n",
		len(attempts), peak, float64(peakAt)/10, len(backs), resubs.Load(), lastOr(backs).Round(time.Millisecond))
	var sb strings.Builder
	keys := make([]int, 0, len(hist))
	for k := range hist {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		fmt.Fprintf(&sb, "%.1f:%d ", float64(k)/10, hist[k])
	}
	fmt.Printf("after the server was back: %d attempts, peak %d in one 100 ms bucket\n", nUp, peakUp)
	fmt.Printf("attempts per 100 ms (start s:count): %s\n", sb.String())
	mu.Unlock()
	_ = end
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = cl.Close(ctx)
	_ = srv.Process.Signal(syscall.SIGTERM)
	_ = srv.Wait()
	if resubs.Load() < connected {
		return 1
	}
	return 0
}

func lastOr(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)-1]
}
