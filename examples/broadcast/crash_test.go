package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/hub/redisbroker/redistest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// instance is the example running as its own process.
type instance struct {
	bin, addr, redis string
	cmd              *exec.Cmd
}

func (in *instance) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(in.bin, "-addr", in.addr, "-redis", in.redis, "-loops", "2", "-presence-ttl", "3s")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.cmd = cmd
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + in.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance on %s did not answer: %v", in.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process as a crash would.
func (in *instance) kill() {
	if in.cmd != nil {
		_ = in.cmd.Process.Signal(syscall.SIGKILL)
		_ = in.cmd.Wait()
		in.cmd = nil
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestBrowserCrashRecovery: alice's page is on instance A; A's process is
// killed, bob sends on instance B while A is down, A is started again; the
// page reconnects on its own and shows every message once, in order, and
// who is in the room.
func TestBrowserCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromiumBin := cmpOr(os.Getenv("CHROMIUM"), "/usr/bin/chromium")
	if _, err := os.Stat(chromiumBin); err != nil {
		t.Skip("chromium not installed: run `make test` (its peers step installs it) or `apt-get install -y chromium`")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: run `make test` (its peers step installs it) or `apt-get install -y nodejs npm`")
	}
	if _, err := os.Stat("browsertest/node_modules/playwright-core/package.json"); err != nil {
		t.Skip("playwright-core not installed: run `make test` (its peers step installs it) or `cd examples/broadcast/browsertest && npm ci --ignore-scripts`")
	}
	rs := redistest.Start(t)
	bin := filepath.Join(t.TempDir(), "broadcast")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	a := &instance{bin: bin, addr: freeAddr(t), redis: rs.URL()}
	b := &instance{bin: bin, addr: freeAddr(t), redis: rs.URL()}
	a.start(t)
	b.start(t)
	t.Cleanup(a.kill)
	t.Cleanup(b.kill)

	out, err := filepath.Abs("testdata/artifacts")
	if err != nil {
		t.Fatal(err)
	}
	room := "crash-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "recover.mjs", "http://"+a.addr+"/", room, out)
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumBin)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	expectLine := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			l := lines.Text()
			t.Logf("recover.mjs: %s", l)
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("recover.mjs ended before %q: %v", prefix, cmd.Wait())
		return ""
	}
	step := func(s string) {
		if _, err := io.WriteString(stdin, s+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	expectLine("READY")

	bob, err := wstest.Dial(b.addr, &wstest.DialOptions{Path: "/ws?room=" + room + "&name=bob"})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	// B subscribes to the room in Redis soon after bob joins; until then
	// its messages reach Redis (and A) all the same: the history is shared.
	for i := 1; i <= 3; i++ {
		_ = bob.WriteText(`{"text":"before-` + strconv.Itoa(i) + `"}`)
	}
	step("WAIT before-3")
	expectLine("SEEN")

	a.kill()
	for i := 1; i <= 10; i++ {
		_ = bob.WriteText(`{"text":"during-` + strconv.Itoa(i) + `"}`)
	}
	time.Sleep(500 * time.Millisecond)
	a.start(t)
	step("WAIT during-10")
	expectLine("SEEN")
	_ = bob.WriteText(`{"text":"after"}`)
	step("WAIT after")
	expectLine("SEEN")
	// alice's entry from the killed process expires (3s): the page lists
	// each user once.
	step("PEOPLE in the room: alice, bob")
	expectLine("PEOPLE")
	step("CHECK 14")
	log := expectLine("LOG")
	want := []string{"before-1", "before-2", "before-3"}
	for i := 1; i <= 10; i++ {
		want = append(want, "during-"+strconv.Itoa(i))
	}
	want = append(want, "after")
	for i, w := range want {
		if !strings.Contains(log, `"bob:`+w+`"`) {
			t.Fatalf("page lacks message %d %q: %s", i, w, log)
		}
	}
	expectLine("NOTES")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("recover.mjs failed: %v", err)
	}
}

// TestClientModule runs switchboard.js's unit test in Node (a fake
// WebSocket and timers): backoff with full jitter, recovery parameters,
// duplicates, gaps, recovery notices, presence.
func TestClientModule(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: run `make test` (its peers step installs it) or `apt-get install -y nodejs`")
	}
	cmd := exec.Command(node, "client_test.mjs")
	cmd.Dir = "browsertest"
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "switchboard.js: ok") {
		t.Fatalf("client_test.mjs: %v\n%s", err, out)
	}
}
