package main

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/examples/internal/tlsflags"
)

// startTLS runs one chat instance serving https:// and wss:// only, with
// -tls-self-signed, until the test ends; it returns its address and the
// certificate's SPKI pin.
func startTLS(t *testing.T) (addr, pin string) {
	t.Helper()
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 2
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	on, err := (&tlsflags.Options{SelfSigned: true}).Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = on.Config
	srv, h, err := newServer(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	if srv.TLSAddr() == "" {
		cancel()
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
	return srv.TLSAddr(), on.Pin
}

// TestPageOverHTTPS: with TLS on, GET / serves the page over https://.
func TestPageOverHTTPS(t *testing.T) {
	addr, _ := startTLS(t)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed; the browser test pins it
	}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "new WebSocket(") {
		t.Fatalf("GET https://%s/: %d", addr, resp.StatusCode)
	}
}

// TestBrowserTLS is TestBrowser over https:// and wss://: alice and bob load
// the page of one instance serving TLS only, with a self-signed certificate
// Chromium accepts by its SPKI pin, and chat; the page must choose wss://
// (a ws:// WebSocket from an https:// page is blocked as mixed content, and
// the port speaks only TLS).
func TestBrowserTLS(t *testing.T) {
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
	addr, pin := startTLS(t)
	out, err := filepath.Abs("testdata/artifacts/tls")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	url := "https://" + addr + "/"
	cmd := exec.CommandContext(ctx, node, "chat.mjs", url, url, out)
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumBin, "SPKI_PINS="+pin)
	cmd.WaitDelay = 5 * time.Second
	output, err := cmd.CombinedOutput()
	t.Logf("chat.mjs:\n%s", output)
	if err != nil {
		t.Fatalf("browser test over https failed: %v (screenshots, if any, in %s)", err, out)
	}
	if !strings.Contains(string(output), "hello from alice") || !strings.Contains(string(output), "bob here") {
		t.Fatalf("bob's page log lacks the exchange")
	}
	t.Logf("screenshots: %s/alice.png, %s/bob.png", out, out)
}
