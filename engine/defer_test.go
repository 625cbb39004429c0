package engine

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// deferHook returns an upgrade hook that defers every handshake and hands
// its Decision to the test.
func deferHook(decisions chan<- *Decision) UpgradeFunc {
	return func(r *UpgradeRequest, _ *UpgradeResponse) error {
		d, err := r.Defer()
		if err != nil {
			return err
		}
		decisions <- d
		return nil
	}
}

func nextDecision(t *testing.T, ch <-chan *Decision) *Decision {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("upgrade hook not called within 5s")
		return nil
	}
}

const protocolRequest = "GET /chat?room=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, other\r\nX-User: bob\r\n\r\n"

// Answers given later, from another goroutine, after the hook returned.
func TestDeferredDecision(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(d *Decision) error
		wantStatus int
		wantHeader [2]string
		wantReason string // Stats.Rejected key for a refusal
	}{
		{"accept", func(d *Decision) error {
			return d.Accept(UpgradeResponse{Protocol: "chat", Value: "alice", Header: []codec.HeaderField{{Name: "X-Auth", Value: "ok"}}})
		}, 101, [2]string{"X-Auth", "ok"}, ""},
		{"reject 401", func(d *Decision) error {
			return d.Reject(&HTTPError{Status: 401, Header: []codec.HeaderField{{Name: "WWW-Authenticate", Value: "Bearer"}}, Body: "login\n"})
		}, 401, [2]string{"WWW-Authenticate", "Bearer"}, "hook"},
		{"reject plain error", func(d *Decision) error { return d.Reject(errors.New("no")) }, 403, [2]string{}, "hook"},
		{"protocol not offered", func(d *Decision) error { return d.Accept(UpgradeResponse{Protocol: "nope"}) }, 500, [2]string{}, "hook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decisions := make(chan *Decision, 1)
			rec := newRecorder()
			srv, addr := startServer(t, rec, func(c *Config) {
				c.Upgrade = deferHook(decisions)
				c.KeepHeaders = []string{"X-User"}
			})
			cl := dialRaw(t, addr)
			if err := cl.WriteRaw([]byte(protocolRequest)); err != nil {
				t.Fatal(err)
			}
			d := nextDecision(t, decisions)
			waitFor(t, "a pending decision", func() bool { return srv.Stats().PendingUpgrades == 1 })
			if err := cl.ExpectSilence(50 * time.Millisecond); err != nil {
				t.Fatalf("answered before the decision: %v", err)
			}
			errc := make(chan error, 1)
			go func() { errc <- tt.answer(d) }()
			if err := <-errc; err != nil {
				t.Fatalf("answer: %v", err)
			}
			if err := d.Accept(UpgradeResponse{}); !errors.Is(err, ErrAlreadyDecided) {
				t.Fatalf("second answer: %v, want ErrAlreadyDecided", err)
			}
			resp, _, err := cl.ReadHTTPResponse(2 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if h := tt.wantHeader; h[0] != "" && resp.Header.Get(h[0]) != h[1] {
				t.Fatalf("header %s = %q, want %q", h[0], resp.Header.Get(h[0]), h[1])
			}
			if st := srv.Stats(); st.PendingUpgrades != 0 {
				t.Fatalf("PendingUpgrades = %d after the answer", st.PendingUpgrades)
			}
			if tt.wantStatus != 101 {
				if err := cl.ExpectEOF(2 * time.Second); err != nil {
					t.Fatal(err)
				}
				waitFor(t, "the refusal counted", func() bool { return srv.Stats().Rejected[tt.wantReason] == 1 })
				return
			}
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "chat" {
				t.Fatalf("protocol %q", got)
			}
			c := rec.nextOpen(t)
			if c.Value() != "alice" || c.Protocol() != "chat" || c.Path() != "/chat" || c.RawQuery() != "room=1" || c.Header("X-User") != "bob" {
				t.Fatalf("conn value %v protocol %q path %q query %q x-user %q", c.Value(), c.Protocol(), c.Path(), c.RawQuery(), c.Header("X-User"))
			}
			if err := cl.WriteText("ping"); err != nil {
				t.Fatal(err)
			}
			if _, p, err := cl.ReadMessage(2 * time.Second); err != nil || string(p) != "ping" {
				t.Fatalf("echo %q %v", p, err)
			}
		})
	}
}

// Frames the client sends right behind its request, and while the decision
// is pending, wait unread and are delivered after the deferred 101.
func TestDeferredKeepsEarlyFrames(t *testing.T) {
	decisions := make(chan *Decision, 1)
	rec := newRecorder()
	_, addr := startServer(t, rec, func(c *Config) { c.Upgrade = deferHook(decisions) })
	cl := dialRaw(t, addr)
	first := append([]byte(upgradeRequest), wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("first"))...)
	if err := cl.WriteRaw(first); err != nil {
		t.Fatal(err)
	}
	d := nextDecision(t, decisions)
	time.Sleep(30 * time.Millisecond)
	if err := cl.WriteText("second"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := d.Accept(UpgradeResponse{}); err != nil {
		t.Fatal(err)
	}
	resp, _, err := cl.ReadHTTPResponse(2 * time.Second)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("response %v %v", resp, err)
	}
	for _, want := range []string{"first", "second"} {
		if _, p, err := cl.ReadMessage(2 * time.Second); err != nil || string(p) != want {
			t.Fatalf("echo %q %v, want %q", p, err, want)
		}
	}
}

// A decision still pending at HandshakeTimeout is cancelled: TCP closes and
// a late Accept returns ErrClosed.
func TestDeferredTimeout(t *testing.T) {
	decisions := make(chan *Decision, 1)
	srv, addr := startServer(t, newRecorder(), func(c *Config) {
		c.Upgrade = deferHook(decisions)
		c.HandshakeTimeout = 150 * time.Millisecond
	})
	cl := dialRaw(t, addr)
	if err := cl.WriteRaw([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	d := nextDecision(t, decisions)
	if err := cl.ExpectEOF(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the connection released", func() bool {
		st := srv.Stats()
		return st.Open == 0 && st.PendingUpgrades == 0
	})
	if err := d.Accept(UpgradeResponse{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept after the timeout: %v, want ErrClosed", err)
	}
	if n := srv.Stats().Rejected["handshake_timeout"]; n != 1 {
		t.Fatalf("handshake_timeout = %d", n)
	}
}

// The peer going away while its decision is pending cancels it.
func TestDeferredPeerGone(t *testing.T) {
	decisions := make(chan *Decision, 1)
	srv, addr := startServer(t, newRecorder(), func(c *Config) { c.Upgrade = deferHook(decisions) })
	cl := dialRaw(t, addr)
	if err := cl.WriteRaw([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	d := nextDecision(t, decisions)
	_ = cl.Close()
	waitFor(t, "the decision cancelled", func() bool { return srv.Stats().PendingUpgrades == 0 })
	if err := d.Reject(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reject after the peer left: %v, want ErrClosed", err)
	}
}

// Past MaxPendingUpgrades, Defer fails and the client gets 503 Retry-After.
func TestDeferredCap(t *testing.T) {
	decisions := make(chan *Decision, 2)
	srv, addr := startServer(t, newRecorder(), func(c *Config) {
		c.Upgrade = deferHook(decisions)
		c.MaxPendingUpgrades = 1
	})
	held := dialRaw(t, addr)
	if err := held.WriteRaw([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	d := nextDecision(t, decisions)
	over := dialRaw(t, addr)
	if err := over.WriteRaw([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	resp, body, err := over.ReadHTTPResponse(2 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "pending") {
		t.Fatalf("over the cap: %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if n := srv.Stats().Rejected["pending_upgrades"]; n != 1 {
		t.Fatalf("pending_upgrades = %d", n)
	}
	if err := d.Accept(UpgradeResponse{}); err != nil {
		t.Fatal(err)
	}
	if resp, _, err := held.ReadHTTPResponse(2 * time.Second); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("held: %v %v", resp, err)
	}
}

// Through net/http the same hook works: the request's goroutine waits for
// the answer.
func TestDeferredNetHTTP(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(d *Decision) error
		wantStatus int
	}{
		{"accept", func(d *Decision) error { return d.Accept(UpgradeResponse{Value: "ann"}) }, 101},
		{"reject 401", func(d *Decision) error { return d.Reject(&HTTPError{Status: 401, Body: "login\n"}) }, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			_, addr := startMounted(t, rec, func(c *Config) {
				c.Upgrade = func(r *UpgradeRequest, _ *UpgradeResponse) error {
					d, err := r.Defer()
					if err != nil {
						return err
					}
					go func() {
						time.Sleep(20 * time.Millisecond)
						if err := tt.answer(d); err != nil {
							t.Errorf("answer: %v", err)
						}
					}()
					return nil
				}
			}, nil)
			cl := dialRaw(t, addr)
			if err := cl.WriteRaw([]byte(strings.Replace(upgradeRequest, "/chat", "/ws", 1))); err != nil {
				t.Fatal(err)
			}
			resp, _, err := cl.ReadHTTPResponse(3 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 101 {
				if v := rec.nextOpen(t).Value(); v != "ann" {
					t.Fatalf("Value %v", v)
				}
			}
		})
	}
}

// Bytes held behind a pending request head are bounded by MaxHeadSize.
func TestDeferredEarlyBytesBound(t *testing.T) {
	decisions := make(chan *Decision, 1)
	srv, addr := startServer(t, newRecorder(), func(c *Config) { c.Upgrade = deferHook(decisions) })
	cl := dialRaw(t, addr)
	if err := cl.WriteRaw([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	d := nextDecision(t, decisions)
	if err := cl.WriteBinary(make([]byte, DefaultMaxHeadSize+1)); err != nil {
		t.Fatal(err)
	}
	resp, _, err := cl.ReadHTTPResponse(2 * time.Second)
	if err != nil || resp.StatusCode != 431 {
		t.Fatalf("response %v %v, want 431", resp, err)
	}
	waitFor(t, "the decision cancelled", func() bool { return srv.Stats().PendingUpgrades == 0 })
	if err := d.Accept(UpgradeResponse{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept: %v, want ErrClosed", err)
	}
}
