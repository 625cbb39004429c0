// Command nethttp measures what a connection upgraded through net/http
// (engine.Server.HTTPHandler) costs against one accepted on the engine's
// own listener: RSS and Go heap per idle connection, and handshakes per
// second, for the same echo server started both ways, in alternating rounds.
//
//	go build -o bin/ ./cmd/nethttp && bin/nethttp -n 10000 -rounds 2
//
// It re-executes itself as the server (`nethttp server -mode native|mounted`,
// driven over package ctl's stdin/stdout channel) and as the load
// generator's workers (`nethttp worker`, package load).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
	"github.com/switchboard-ws/switchboard/engine"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "worker":
			load.Main()
			return
		case "server":
			server(os.Args[2:])
			return
		}
	}
	measure()
}

// server runs the echo server: on the engine's listener (native) or
// mounted at / on an http.Server (mounted; the engine then listens on a
// free loopback port nobody uses).
func server(args []string) {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	mode := fs.String("mode", "native", "native or mounted")
	addr := fs.String("addr", "127.0.0.1:9101", "listen address")
	_ = fs.Parse(args)
	cfg := engine.DefaultConfig(*addr)
	cfg.MaxHandshakesPerSecond = 0 // measure handshakes, not the limiter
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	if *mode == "mounted" {
		cfg.Addr = "127.0.0.1:0"
	}
	srv, err := engine.New(cfg, engine.Handlers{
		Open:    func(*engine.Conn) { ctl.Conns.Add(1) },
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
		Close:   func(*engine.Conn, error) { ctl.Conns.Add(-1) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go func() {
		a := srv.Addr()
		if a == "" {
			return
		}
		if *mode != "mounted" {
			ctl.Ready(a)
			return
		}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ctl.Ready(ln.Addr().String())
		_ = (&http.Server{Handler: srv.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	}()
	if err := srv.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type proc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

func start(mode, addr string) (*proc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "server", "-mode", mode, "-addr", addr)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, in: in, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), ctl.Prefix); ok {
				p.lines <- line
			}
		}
		close(p.lines)
	}()
	select {
	case line, ok := <-p.lines:
		if !ok || !strings.HasPrefix(line, "ready ") {
			return nil, fmt.Errorf("%s server did not start: %q", mode, line)
		}
	case <-time.After(30 * time.Second):
		return nil, errors.New(mode + " server: no ready line")
	}
	return p, nil
}

func (p *proc) ask(cmd string) (ctl.Mem, error) {
	var m ctl.Mem
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		return m, err
	}
	select {
	case line, ok := <-p.lines:
		if !ok {
			return m, errors.New("server exited")
		}
		return m, json.Unmarshal([]byte(line), &m)
	case <-time.After(60 * time.Second):
		return m, errors.New("server: no answer to " + cmd)
	}
}

func (p *proc) stop() {
	_ = p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

type result struct {
	mode                         string
	rssStats, rssMem, heap, rate float64
}

func measure() {
	n := flag.Int("n", 10000, "idle connections")
	rounds := flag.Int("rounds", 2, "rounds of each mode, alternating")
	addr := flag.String("addr", "127.0.0.1:9101", "server address")
	settle := flag.Duration("settle", 3*time.Second, "wait after connecting before measuring")
	flag.Parse()
	var all []result
	for r := 0; r < *rounds; r++ {
		for _, mode := range []string{"native", "mounted"} {
			res, err := round(mode, *addr, *n, *settle)
			if err != nil {
				fmt.Fprintln(os.Stderr, mode+":", err)
				os.Exit(1)
			}
			fmt.Printf("round %d %-8s %6.0f handshakes/s  RSS/conn %6.0f B (no GC) %6.0f B (after GC+FreeOSMemory)  live heap/conn %5.0f B\n",
				r+1, mode, res.rate, res.rssStats, res.rssMem, res.heap)
			all = append(all, res)
		}
	}
	sum := map[string]*result{}
	for _, r := range all {
		s := sum[r.mode]
		if s == nil {
			s = &result{mode: r.mode}
			sum[r.mode] = s
		}
		s.rate += r.rate / float64(*rounds)
		s.rssStats += r.rssStats / float64(*rounds)
		s.rssMem += r.rssMem / float64(*rounds)
		s.heap += r.heap / float64(*rounds)
	}
	nat, mnt := sum["native"], sum["mounted"]
	fmt.Printf("mean of %d rounds at %d idle connections:\n", *rounds, *n)
	for _, s := range []*result{nat, mnt} {
		fmt.Printf("  %-8s %6.0f handshakes/s  RSS/conn %6.0f B (no GC) %6.0f B (after GC)  heap/conn %5.0f B\n", s.mode, s.rate, s.rssStats, s.rssMem, s.heap)
	}
	fmt.Printf("  mounted/native: RSS %.3f (no GC) %.3f (after GC), heap %.3f, handshakes/s %.3f\n",
		mnt.rssStats/nat.rssStats, mnt.rssMem/nat.rssMem, mnt.heap/nat.heap, mnt.rate/nat.rate)
}

func round(mode, addr string, n int, settle time.Duration) (result, error) {
	p, err := start(mode, addr)
	if err != nil {
		return result{}, err
	}
	defer p.stop()
	base, err := p.ask("mem")
	if err != nil {
		return result{}, err
	}
	pool := load.NewPool(load.Options{Addr: addr, SrcBase: "127.0.0.2"})
	defer pool.Close()
	ctx := context.Background()
	t0 := time.Now()
	got, err := pool.Grow(ctx, n)
	took := time.Since(t0)
	if err != nil || got != n {
		return result{}, fmt.Errorf("connected %d of %d: %v", got, n, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := p.ask("stats")
		if err != nil {
			return result{}, err
		}
		if m.Conns == int64(n) {
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("server holds %d of %d", m.Conns, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(settle)
	st, err := p.ask("stats")
	if err != nil {
		return result{}, err
	}
	mm, err := p.ask("mem")
	if err != nil {
		return result{}, err
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	return result{
		mode:     mode,
		rate:     float64(n) / took.Seconds(),
		rssStats: per(st.RSS, base.RSS),
		rssMem:   per(mm.RSS, base.RSS),
		heap:     per(mm.HeapAlloc, base.HeapAlloc),
	}, nil
}
