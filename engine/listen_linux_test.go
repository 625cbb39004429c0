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

func TestParseProcLine(t *testing.T) {
	tests := []struct {
		name, line string
		ok         bool
		ip         string
		port       int
		inode      string
	}{
		{"ipv4 listener", "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0", true, "127.0.0.1", 8080, "123456"},
		{"ipv4 wildcard", "   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1 0000000000000000 100 0 0 10 0", true, "0.0.0.0", 80, "42"},
		{"ipv6 loopback", "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0", true, "::1", 8080, "777"},
		{"established", "   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 20 4 30 10 -1", false, "", 0, ""},
		{"short", "   3: 0100007F:1F90 00000000:0000 0A", false, "", 0, ""},
		{"bad hex", "   4: 0100007G:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1", false, "", 0, ""},
		{"bad port", "   5: 0100007F:XYZ 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1", false, "", 0, ""},
		{"empty", "", false, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, ok := parseProcLine([]byte(tt.line))
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if ok && (ln.ip.String() != tt.ip || ln.port != tt.port || ln.inode != tt.inode) {
				t.Fatalf("got %v:%d inode %s", ln.ip, ln.port, ln.inode)
			}
		})
	}
	// A busy host lists many established sockets: they cost nothing.
	line := []byte(tests[3].line)
	if n := testing.AllocsPerRun(100, func() { parseProcLine(line) }); n != 0 {
		t.Fatalf("%v allocations for a socket that is not listening", n)
	}
}
