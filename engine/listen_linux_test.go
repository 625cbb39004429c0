package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const listenChildEnv = "SWITCHBOARD_LISTEN_CHILD"

// TestListenHolderChild is the other process of the guard tests: it listens
// with SO_REUSEPORT on the address in its environment, prints "ok", and
// exits when stdin closes. It does nothing in a normal test run.
func TestListenHolderChild(t *testing.T) {
	addr := os.Getenv(listenChildEnv)
	if addr == "" {
		t.Skip("helper process for the listen guard tests")
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		fmt.Println("error", err)
		return
	}
	defer ln.Close()
	fmt.Println("ok")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

// startHolder runs TestListenHolderChild in a child process on addr.
func startHolder(t *testing.T, addr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestListenHolderChild$")
	cmd.Env = append(os.Environ(), listenChildEnv+"="+addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ok" {
		t.Fatalf("holder process: %q %v", line, err)
	}
}

func TestForeignListener(t *testing.T) {
	addr := freeLoopbackPort(t)
	ta, _ := net.ResolveTCPAddr("tcp", addr)
	own, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	if foreign, err := foreignListener("tcp4", ta); err != nil || foreign {
		t.Fatalf("own listener: foreign = %v, %v; want false", foreign, err)
	}
	_ = own.Close()

	startHolder(t, addr)
	tests := []struct {
		network string
		addr    string
		want    bool
	}{
		{"tcp4", addr, true},
		{"tcp4", strings.Replace(addr, "127.0.0.1", "0.0.0.0", 1), true}, // wildcard overlaps
		{"tcp4", strings.Replace(addr, "127.0.0.1", "127.0.0.2", 1), false},
		{"tcp", strings.Replace(addr, "127.0.0.1", "", 1), true}, // dual stack overlaps IPv4
		{"tcp6", strings.Replace(addr, "127.0.0.1", "[::1]", 1), false},
	}
	for _, tt := range tests {
		ta, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := foreignListener(tt.network, ta); err != nil || got != tt.want {
			t.Errorf("foreignListener(%s, %s) = %v, %v; want %v", tt.network, tt.addr, got, err, tt.want)
		}
	}
}

// A process that joins the port between the probe and gnet's bind (here:
// before it, with the probe off) stops the server with EADDRINUSE.
func TestListenGuardCatchesRace(t *testing.T) {
	addr := freeLoopbackPort(t)
	startHolder(t, addr)
	probeBeforeBind = false
	defer func() { probeBeforeBind = true }()
	start := time.Now()
	_, errc := runServer(t, addr, false, nil)
	err, returned := runResult(t, errc)
	if !returned || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Run = %v (returned %v), want an error wrapping EADDRINUSE", err, returned)
	}
	t.Logf("stopped after %v: %v", time.Since(start).Round(time.Millisecond), err)
}
