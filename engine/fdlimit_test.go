package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/internal/wstest"
)

const fdChildEnv = "SWITCHBOARD_FD_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(fdChildEnv) != "" {
		runFDChild()
		return
	}
	os.Exit(m.Run())
}

// runFDChild is the server half of TestFDExhaustion: it lowers its own
// open-file limit (soft and hard, like `ulimit -n`), serves echo, prints its
// address and stats on request, and exits when stdin closes.
func runFDChild() {
	lim := syscall.Rlimit{Cur: 160, Max: 160}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	cfg := DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 2
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(cfg, Handlers{Message: func(c *Conn, typ MessageType, data []byte) { _ = c.WriteMessage(typ, data) }})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	fmt.Println("addr", srv.Addr(), srv.MaxConns())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		st := srv.Stats()
		fmt.Println("stats", st.Open, st.Rejected["capacity"])
	}
	cancel()
	if err := <-done; err != nil {
		fmt.Println("run error", err)
	}
}

// File-descriptor exhaustion never takes the server down: with a lowered
// open-file limit, connections above the ceiling get 503, every existing
// connection keeps working, and new ones succeed once others leave.
func TestFDExhaustion(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server process: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("server process did not exit")
		}
	}()
	out := bufio.NewScanner(stdout)
	if !out.Scan() {
		t.Fatal("no output from server process")
	}
	var addr string
	var ceiling int
	if _, err := fmt.Sscanf(out.Text(), "addr %s %d", &addr, &ceiling); err != nil {
		t.Fatalf("server said %q", out.Text())
	}
	if ceiling < 10 || ceiling > 160 {
		t.Fatalf("ceiling %d for a limit of 160", ceiling)
	}
	stats := func() (open, refused int) {
		fmt.Fprintln(stdin, "stats")
		if !out.Scan() {
			t.Fatal("server process gone")
		}
		_, _ = fmt.Sscanf(out.Text(), "stats %d %d", &open, &refused)
		return
	}

	// Three times more clients than the server may hold.
	var held []*wstest.Client
	refused := 0
	for range 3 * ceiling {
		c, err := wstest.Dial(addr, &wstest.DialOptions{Timeout: 3 * time.Second})
		var he *wstest.HandshakeError
		switch {
		case err == nil:
			held = append(held, c)
		case errors.As(err, &he) && he.Status == 503:
			refused++
		default:
			t.Fatalf("after %d held, %d refused: %v", len(held), refused, err)
		}
	}
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	if len(held) != ceiling || refused != 2*ceiling {
		t.Fatalf("held %d refused %d, want %d and %d", len(held), refused, ceiling, 2*ceiling)
	}
	if open, r := stats(); open != ceiling || r < refused {
		t.Fatalf("server reports open %d refused %d", open, r)
	}
	echo := func(c *wstest.Client, msg string) {
		t.Helper()
		if err := c.WriteText(msg); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(5 * time.Second); err != nil || string(got) != msg {
			t.Fatalf("echo %q: %q %v", msg, got, err)
		}
	}
	for i, c := range held {
		echo(c, fmt.Sprint("still working ", i))
	}
	// Load drops: service resumes for new clients.
	for _, c := range held[:10] {
		_ = c.WriteClose(1000, "")
		_, _, _ = c.ExpectClose(5 * time.Second)
		_ = c.Close()
	}
	held = held[10:]
	waitFor(t, "server to see the closes", func() bool { open, _ := stats(); return open == ceiling-10 })
	for i := range 10 {
		c, err := wstest.Dial(addr, nil)
		if err != nil {
			t.Fatalf("new client %d after load dropped: %v", i, err)
		}
		held = append(held, c)
		echo(c, "new")
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("addr %q", addr)
	}
}
