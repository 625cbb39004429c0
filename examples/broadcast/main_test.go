package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/examples/internal/compression"
	"github.com/switchboard-ws/switchboard/hub/redisbroker/redistest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// start runs one chat instance on a free loopback port until the test ends.
func start(t *testing.T, redisURL string) string {
	t.Helper()
	return startCompressed(t, redisURL, "off")
}

// startCompressed is start with a -compression mode.
func startCompressed(t *testing.T, redisURL, mode string) string {
	t.Helper()
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 2
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := compression.Apply(&cfg, mode, 12); err != nil {
		t.Fatal(err)
	}
	srv, h, err := newServer(cfg, options{redisURL: redisURL, history: 1000, historyTTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	addr := srv.Addr()
	if addr == "" {
		t.Fatalf("server did not start: %v", <-done)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("server did not stop within 15s")
		}
		_ = h.Close()
	})
	return addr
}

func dial(t *testing.T, addr, room, name string) *wstest.Client {
	t.Helper()
	c, err := wstest.Dial(addr, &wstest.DialOptions{Path: "/ws?room=" + room + "&name=" + url.QueryEscape(name)})
	if err != nil {
		t.Fatalf("dial room %q: %v", room, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// join is dial that returns once the server has subscribed the client
// (its presence list, sent after the subscription, has arrived): the 101
// comes before OnOpen, so a message published right after dial might
// otherwise miss it.
func join(t *testing.T, addr, room, name string) *wstest.Client {
	t.Helper()
	c := dial(t, addr, room, name)
	for {
		_, p, err := c.ReadMessage(10 * time.Second)
		if err != nil {
			t.Fatalf("join room %q: no presence list: %v", room, err)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(p, &m) == nil && m["presence"] != nil {
			return c
		}
		if !isPresence(p) {
			t.Fatalf("join room %q: unexpected %q before the presence list", room, p)
		}
	}
}

// roomMsg is a room message as the protocol delivers it.
type roomMsg struct {
	Offset uint64 `json:"offset"`
	Epoch  string `json:"epoch"`
	Data   string `json:"data"`
}

// expect reads one room message and checks its data; it returns the message.
func expect(t *testing.T, c *wstest.Client, want string) roomMsg {
	t.Helper()
	op, p, err := c.ReadMessage(10 * time.Second)
	for err == nil && isPresence(p) { // presence is checked by TestPresence
		op, p, err = c.ReadMessage(10 * time.Second)
	}
	var m roomMsg
	if err != nil || op != ws.OpText || json.Unmarshal(p, &m) != nil || m.Data != want || m.Offset == 0 || m.Epoch == "" {
		t.Fatalf("got %v %q %v, want data %q", op, p, err, want)
	}
	return m
}

func TestPageAndRooms(t *testing.T) {
	addr := start(t, "")
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "/switchboard.js") {
		t.Fatalf("GET /: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	for _, bad := range []string{"/ws", "/ws?room=", "/ws?room=a%20b&name=x", "/ws?room=" + strings.Repeat("x", 65) + "&name=x", "/other?room=a&name=x",
		"/ws?room=a", "/ws?room=a&name=", "/ws?room=a&name=%3Cb%3E", "/ws?room=a&name=" + strings.Repeat("x", 33)} {
		_, err := wstest.Dial(addr, &wstest.DialOptions{Path: bad})
		var he *wstest.HandshakeError
		if !errorsAs(err, &he) || (he.Status != 400 && he.Status != 404) {
			t.Errorf("dial %s: %v, want 400 or 404", bad, err)
		}
	}

	a1, a2, b := join(t, addr, "a", "alice"), join(t, addr, "a", "Zoë K."), join(t, addr, "b", "bob")
	if err := a1.WriteText(`{"text":"hi"}`); err != nil {
		t.Fatal(err)
	}
	expect(t, a1, `{"name":"alice","text":"hi"}`) // the sender included
	expect(t, a2, `{"name":"alice","text":"hi"}`)
	// Identity is the connection's, decided at the upgrade: a name in the
	// message is ignored.
	if err := a2.WriteText(`{"name":"alice","text":"I am alice"}`); err != nil {
		t.Fatal(err)
	}
	expect(t, a1, `{"name":"Zoë K.","text":"I am alice"}`)
	expect(t, a2, `{"name":"Zoë K.","text":"I am alice"}`)
	silent(t, b)
}

// silent checks that c receives no room message for a while (presence
// messages aside).
func silent(t *testing.T, c *wstest.Client) {
	t.Helper()
	for {
		_, p, err := c.ReadMessage(150 * time.Millisecond)
		if err != nil {
			if strings.Contains(err.Error(), "timeout") {
				return
			}
			t.Fatal(err)
		}
		if !isPresence(p) {
			t.Fatalf("unexpected message %q", p)
		}
	}
}

func isPresence(p []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(p, &m) != nil {
		return false
	}
	_, j := m["join"]
	_, l := m["leave"]
	_, s := m["presence"]
	return j || l || s
}

// Who is in the room: the list on joining, then joins and leaves.
func TestPresence(t *testing.T) {
	addr := start(t, "")
	alice := dial(t, addr, "p", "alice")
	readJSON := func(c *wstest.Client) map[string]any {
		t.Helper()
		_, p, err := c.ReadMessage(5 * time.Second)
		var m map[string]any
		if err != nil || json.Unmarshal(p, &m) != nil {
			t.Fatalf("read %q: %v", p, err)
		}
		return m
	}
	names := func(list any) []string {
		var out []string
		for _, e := range list.([]any) {
			out = append(out, e.(map[string]any)["info"].(map[string]any)["name"].(string))
		}
		return out
	}
	// alice: her own join and the list, in either order.
	var list any
	for range 2 {
		m := readJSON(alice)
		if j, ok := m["join"]; ok {
			if j.(map[string]any)["info"].(map[string]any)["name"] != "alice" {
				t.Fatalf("join: %v", m)
			}
		} else if list, ok = m["presence"]; !ok {
			t.Fatalf("unexpected %v", m)
		}
	}
	if got := names(list); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("presence on joining: %v", got)
	}
	bob := dial(t, addr, "p", "bob")
	if m := readJSON(alice); m["join"] == nil || m["join"].(map[string]any)["info"].(map[string]any)["name"] != "bob" {
		t.Fatalf("alice saw %v, want bob's join", m)
	}
	_ = bob.Close()
	if m := readJSON(alice); m["leave"] == nil || m["leave"].(map[string]any)["info"].(map[string]any)["name"] != "bob" {
		t.Fatalf("alice saw %v, want bob's leave", m)
	}
}

// A client that comes back with its position gets what it missed, then the
// live messages; one whose position is gone is told so first.
func TestRecoverAfterReconnect(t *testing.T) {
	addr := start(t, "")
	alice, bob := join(t, addr, "r", "alice"), join(t, addr, "r", "bob")
	_ = alice.WriteText(`{"text":"one"}`)
	expect(t, alice, `{"name":"alice","text":"one"}`)
	last := expect(t, bob, `{"name":"alice","text":"one"}`)
	_ = bob.Close()
	for _, w := range []string{"two", "three"} {
		_ = alice.WriteText(w)
		expect(t, alice, `{"name":"alice","text":"`+w+`"}`)
	}
	q := "/ws?room=r&name=bob&since=" + strconv.FormatUint(last.Offset, 10) + "&epoch=" + last.Epoch
	back, err := wstest.Dial(addr, &wstest.DialOptions{Path: q})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if m := expect(t, back, `{"name":"alice","text":"two"}`); m.Offset != last.Offset+1 || m.Epoch != last.Epoch {
		t.Fatalf("first recovered message %+v after %+v", m, last)
	}
	expect(t, back, `{"name":"alice","text":"three"}`)
	_ = alice.WriteText("four")
	expect(t, back, `{"name":"alice","text":"four"}`)

	gone, err := wstest.Dial(addr, &wstest.DialOptions{Path: "/ws?room=r&name=carol&since=1&epoch=nope"})
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	_, p, err := gone.ReadMessage(5 * time.Second)
	for err == nil && isPresence(p) {
		_, p, err = gone.ReadMessage(5 * time.Second)
	}
	if want := `{"recovered":false,"epoch":"` + last.Epoch + `","offset":4}`; err != nil || string(p) != want {
		t.Fatalf("got %q %v, want %s", p, err, want)
	}
	if _, err := wstest.Dial(addr, &wstest.DialOptions{Path: "/ws?room=r&name=x&since=abc&epoch=e"}); err == nil {
		t.Fatal("a bad since was accepted")
	}
}

// Two instances sharing one Redis are one chat.
func TestTwoInstancesOneChat(t *testing.T) {
	rs := redistest.Start(t)
	// Compression on, one instance in each mode: the pages must negotiate
	// permessage-deflate (chat.mjs checks ws.extensions with EXPECT_DEFLATE).
	addrA := startCompressed(t, rs.URL(), "no-context-takeover")
	addrB := startCompressed(t, rs.URL(), "context-takeover")
	ca, cb := join(t, addrA, "lobby", "a"), join(t, addrB, "lobby", "b")
	ping := `{"name":"a","text":"ping"}`
	// Until B has subscribed in Redis, A's messages do not reach it (at most
	// once): send until one does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ca.WriteText("ping"); err != nil {
			t.Fatal(err)
		}
		expect(t, ca, ping)
		if _, p, err := cb.ReadMessage(200 * time.Millisecond); err == nil && isPresence(p) {
			continue
		} else if err == nil && strings.Contains(string(p), `"data":"{\"name\":\"a\",\"text\":\"ping\"}"`) {
			break
		} else if err != nil && !strings.Contains(err.Error(), "timeout") {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("instance B never got a message from instance A")
		}
	}
	// Drain stray pings, then one clean exchange each way.
	for cb.ExpectSilence(200*time.Millisecond) != nil {
		if _, _, err := cb.ReadMessage(time.Second); err != nil {
			t.Fatal(err)
		}
	}
	_ = cb.WriteText(`{"text":"from b"}`)
	expect(t, cb, `{"name":"b","text":"from b"}`)
	expect(t, ca, `{"name":"b","text":"from b"}`)
	_ = ca.WriteText(`{"text":"from a"}`)
	expect(t, ca, `{"name":"a","text":"from a"}`)
	expect(t, cb, `{"name":"a","text":"from a"}`)
}

// TestBrowser opens the page of two instances sharing a Redis in headless
// Chromium (Debian's, driven by playwright-core), sends from one, sees it on
// the other, and keeps screenshots in testdata/artifacts.
func TestBrowser(t *testing.T) {
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
	// Compression on, one instance in each mode: the pages must negotiate
	// permessage-deflate (chat.mjs checks ws.extensions with EXPECT_DEFLATE).
	addrA := startCompressed(t, rs.URL(), "no-context-takeover")
	addrB := startCompressed(t, rs.URL(), "context-takeover")
	out, err := filepath.Abs("testdata/artifacts")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"alice.png", "bob.png", "failure-0.png", "failure-1.png"} {
		_ = os.Remove(filepath.Join(out, f))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "chat.mjs", "http://"+addrA+"/", "http://"+addrB+"/", out)
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumBin, "EXPECT_DEFLATE=1")
	cmd.WaitDelay = 5 * time.Second
	output, err := cmd.CombinedOutput()
	t.Logf("chat.mjs:\n%s", output)
	if err != nil {
		t.Fatalf("browser test failed: %v (screenshots, if any, in %s)", err, out)
	}
	for _, f := range []string{"alice.png", "bob.png"} {
		st, err := os.Stat(filepath.Join(out, f))
		if err != nil || st.Size() == 0 {
			t.Fatalf("screenshot %s missing: %v", f, err)
		}
	}
	if !strings.Contains(string(output), "hello from alice") || !strings.Contains(string(output), "bob here") ||
		!strings.Contains(string(output), "long message") {
		t.Fatalf("bob's page log lacks the exchange")
	}
	t.Logf("screenshots: %s/alice.png, %s/bob.png", out, out)
}
