package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// heartbeatFlags start the second echo each client talks to, for the
// server-ping case: it pings a connection after 200ms of quiet and closes it
// 3s after a ping that got no answer. A client stays quiet 4s on it, so it is
// still connected only if it answered. The pong timeout is generous because
// a busy machine can starve a browser's network process for a second.
var heartbeatFlags = []string{"-ping-interval", "200ms", "-pong-timeout", "3s", "-tick", "50ms"}

// raceEnabled is set by race_test.go: the echo binary is then built with
// -race too, so that real clients drive a race-checked server.
var raceEnabled bool

// Cases every client runs; see testdata/*.
var (
	allCases      = []string{"utf8-text", "binary-1MiB", "close-1000", "server-ping"}
	fullClient    = append([]string{"fragmented", "ping-pong"}, allCases...)
	whatwgClient  = append([]string{"large-text"}, allCases...) // cannot send fragments or pings
	browserClient = append([]string{"origin-refused"}, whatwgClient...)
)

type client struct {
	name    string
	script  string        // in testdata/, given the two echo URLs (defaults, heartbeat)
	cases   []string      // each must print "PASS <case>"
	timeout time.Duration // for the whole script
	// runner returns the program (and its flags) that runs script, or why
	// the client cannot run here.
	runner func() (argv []string, skip string)
}

var clients = []client{
	{
		name: "python-websocket-client", script: "client.py", cases: fullClient, timeout: 90 * time.Second,
		runner: func() ([]string, string) {
			if !pythonHas("websocket") {
				return nil, "python3-websocket not installed (Debian; /usr/bin/python3 -c 'import websocket' failed): make test installs it"
			}
			return []string{debianPython}, ""
		},
	},
	{
		name: "python-websockets", script: "client_websockets.py", cases: fullClient, timeout: 90 * time.Second,
		runner: func() ([]string, string) {
			if !pythonHas("websockets") {
				return nil, "python3-websockets not installed (Debian; /usr/bin/python3 -c 'import websockets' failed): make test installs it"
			}
			return []string{debianPython}, ""
		},
	},
	{
		name: "node-ws", script: "client_ws.mjs", cases: fullClient, timeout: 90 * time.Second,
		runner: func() ([]string, string) {
			node, skip := nodeWith("ws")
			return []string{node}, skip
		},
	},
	{
		name: "node-builtin", script: "client_builtin.mjs", cases: whatwgClient, timeout: 90 * time.Second,
		runner: func() ([]string, string) {
			node, skip := nodeWith()
			if skip != "" {
				return nil, skip
			}
			flags, skip := builtinWebSocketFlags(node)
			return append([]string{node}, flags...), skip
		},
	},
	{
		name: "chromium", script: "browser.mjs", cases: browserClient, timeout: 150 * time.Second,
		runner: func() ([]string, string) {
			if _, err := os.Stat(chromiumPath()); err != nil {
				return nil, "Chromium not installed at " + chromiumPath() + " (Debian chromium): make test installs it"
			}
			node, skip := nodeWith("playwright-core")
			return []string{node}, skip
		},
	},
}

// TestEchoInterop runs every client against examples/echo: the data cases
// against an echo with default settings, server-ping against a second echo
// started with heartbeatFlags. Each subtest has its own pair of servers.
func TestEchoInterop(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { runEchoClient(t, c) })
	}
}

// runEchoClient runs client c against a pair of echoes started with flags
// (the second with heartbeatFlags too) and checks its cases.
func runEchoClient(t *testing.T, c client, flags ...string) {
	t.Helper()
	runner, skip := c.runner()
	if skip != "" {
		t.Skip(skip)
	}
	srv := startEcho(t, flags...)
	hb := startEcho(t, append(append([]string(nil), flags...), heartbeatFlags...)...)
	argv := append(runner, c.script, srv.url, hb.url)
	if c.name == "chromium" {
		argv = append(argv, artifactDir())
	}
	out := runClient(t, c.timeout, argv, c.script)
	for _, name := range c.cases {
		if !regexp.MustCompile(`(?m)^PASS ` + regexp.QuoteMeta(name) + `$`).MatchString(out) {
			t.Errorf("case %s did not pass", name)
		}
	}
	if !regexp.MustCompile(`(?m)^ALL PASS$`).MatchString(out) {
		t.Errorf("%s printed no ALL PASS line", c.script)
	}
	if c.name == "chromium" {
		// The cross-origin page's WebSocket must have been refused by
		// the server's origin policy, not by the browser.
		if !strings.Contains(srv.log(), "status=403 reason=origin") {
			t.Errorf("echo logged no origin refusal (403) for the cross-origin page")
		}
		t.Logf("screenshots in %s", artifactDir())
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", c.script, out)
	}
}

// runClient runs argv in testdata/ with a time limit and returns its output;
// a failed run fails the test with the output.
func runClient(t *testing.T, timeout time.Duration, argv []string, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = "testdata"
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "PYTHONDONTWRITEBYTECODE=1", "NO_COLOR=1")
	ownProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s: no result within %v; output:\n%s", script, timeout, out.String())
	}
	if err != nil {
		t.Fatalf("%s: %v; output:\n%s", strings.Join(argv, " "), err, out.String())
	}
	t.Logf("%s ran in %v:\n%s", script, time.Since(start).Round(time.Millisecond), out.String())
	return out.String()
}

// --- the echo example under test ---

type echoServer struct {
	url    string
	stdout *syncBuffer // the lines printed up to the listening line, at least
	stderr *syncBuffer
}

func (e *echoServer) log() string { return e.stderr.String() }

// listening finds the first URL the echo prints: ws://, or wss:// when it
// serves TLS only (see tls_test.go).
var listening = regexp.MustCompile(`echo: listening on (wss?://\S+/)`)

// startEcho starts the echo example on a free loopback port (-v logs every
// connection problem to stderr) and stops it gracefully when t ends,
// checking that it exits cleanly and logged no race or panic.
func startEcho(t *testing.T, flags ...string) *echoServer {
	t.Helper()
	args := append([]string{"-addr", "127.0.0.1:0", "-loops", "2", "-v"}, flags...)
	cmd := exec.Command(echoBinary(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			_, _ = fmt.Fprintln(e.stdout, sc.Text())
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case e.url = <-urls:
	case err := <-exited:
		t.Fatalf("echo %s exited before listening: %v\n%s", strings.Join(args, " "), err, e.log())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("echo %s did not say where it listens in 30s\n%s", strings.Join(args, " "), e.log())
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(stopSignal)
		var err error
		select {
		case err = <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("echo %s did not stop within 20s of a SIGTERM", e.url)
		}
		logs := e.log()
		if err != nil {
			t.Errorf("echo %s exited with %v", e.url, err)
		}
		if strings.Contains(logs, "DATA RACE") || strings.Contains(logs, "panic:") {
			t.Errorf("echo %s reported a race or panic", e.url)
		}
		if t.Failed() {
			t.Logf("echo %s (%s) stderr:\n%s", e.url, strings.Join(flags, " "), logs)
		}
	})
	return e
}

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// echoBinary builds examples/echo once per test binary.
func echoBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "switchboard-interop-"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "echo")
		args := []string{"build", "-o", buildBin}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./examples/echo")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// --- the peers ---

// debianPython is Debian's Python, which sees Debian's python3-* packages
// (a python3 earlier on PATH, e.g. pyenv's, does not).
const debianPython = "/usr/bin/python3"

func pythonHas(module string) bool {
	return exec.Command(debianPython, "-c", "import "+module).Run() == nil
}

// nodeWith finds node and checks that the npm packages are installed in
// node_modules here.
func nodeWith(packages ...string) (node, skip string) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "node not installed (Debian nodejs): make test installs it"
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join("node_modules", p, "package.json")); err != nil {
			return "", "npm package " + p + " not installed in internal/interop/node_modules: make test installs it (npm ci there)"
		}
	}
	return node, ""
}

// builtinWebSocketFlags returns the flags that give this node a global
// WebSocket: --experimental-websocket on Node 20/21, none from Node 22.
func builtinWebSocketFlags(node string) ([]string, string) {
	probe := `process.exit(typeof WebSocket === "function" ? 0 : 3)`
	for _, flags := range [][]string{{"--experimental-websocket"}, nil} {
		if exec.Command(node, append(flags, "-e", probe)...).Run() == nil {
			return flags, ""
		}
	}
	v, _ := exec.Command(node, "--version").Output()
	return nil, "node " + strings.TrimSpace(string(v)) + " has no built-in WebSocket (Node >= 20 with --experimental-websocket has)"
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// artifactDir is where the browser's screenshots go (git-ignored).
func artifactDir() string {
	dir, err := filepath.Abs("artifacts")
	if err != nil {
		return "artifacts"
	}
	return dir
}

// syncBuffer is a bytes.Buffer safe for a process's writers and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
