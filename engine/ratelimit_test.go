package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

func TestRateLimits(t *testing.T) {
	cases := []struct {
		name      string
		tweak     func(*Config)
		send      func(c *wstest.Client) error
		wantClose bool
	}{
		{"messages over the rate close with 1008", func(c *Config) { c.MaxMessagesPerSecond, c.MessageBurst = 10, 5 },
			func(c *wstest.Client) error { return sendN(c, 50, 10) }, true},
		{"bytes over the rate close with 1008", func(c *Config) { c.MaxBytesPerSecond, c.ByteBurst = 1000, 2000 },
			func(c *wstest.Client) error { return sendN(c, 10, 500) }, true},
		{"within the rate passes", func(c *Config) { c.MaxMessagesPerSecond, c.MessageBurst = 1000, 100 },
			func(c *wstest.Client) error { return sendN(c, 50, 10) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			rec.noEcho = true
			_, addr := startServer(t, rec, tc.tweak)
			c := dial(t, addr, nil)
			rec.nextOpen(t)
			if err := tc.send(c); err != nil && !tc.wantClose {
				t.Fatal(err)
			}
			if !tc.wantClose {
				if err := c.ExpectSilence(200 * time.Millisecond); err != nil {
					t.Fatal(err)
				}
				return
			}
			code, reason, err := c.ExpectClose(5 * time.Second)
			if err != nil || code != 1008 || reason != "rate limit" {
				t.Fatalf("got %d %q %v", code, reason, err)
			}
			if ce := rec.nextClose(t); ce.Code != codec.ClosePolicyViolation || ce.Err != ErrRateLimited {
				t.Fatalf("OnClose %+v", ce)
			}
		})
	}
	t.Run("drop policy keeps the connection and delivers what fits", func(t *testing.T) {
		rec := newRecorder()
		rec.noEcho = true
		srv, addr := startServer(t, rec, func(c *Config) {
			c.MaxMessagesPerSecond, c.MessageBurst, c.RatePolicy = 1, 3, PolicyDrop
		})
		c := dial(t, addr, nil)
		rec.nextOpen(t)
		if err := sendN(c, 10, 5); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "drops counted", func() bool { return srv.Stats().RateLimited >= 7 })
		if got := len(rec.msgSeen); got != 3 {
			t.Fatalf("delivered %d messages, want the burst of 3", got)
		}
		if err := c.ExpectSilence(100 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	})
}

func sendN(c *wstest.Client, n, size int) error {
	p := make([]byte, size)
	for range n {
		if err := c.WriteBinary(p); err != nil {
			return err
		}
	}
	return nil
}

func TestConnsPerIPAndHandshakeRate(t *testing.T) {
	t.Run("per IP", func(t *testing.T) {
		srv, addr := startServer(t, newRecorder(), func(c *Config) { c.MaxConnsPerIP = 3 })
		for range 3 {
			dial(t, addr, nil)
		}
		_, err := wstest.Dial(addr, nil)
		var he *wstest.HandshakeError
		if !errors.As(err, &he) || he.Status != 429 {
			t.Fatalf("fourth from one IP: %v, want 429", err)
		}
		// Another source address is counted on its own.
		dial(t, addr, &wstest.DialOptions{LocalAddr: "127.0.0.2"})
		if srv.Stats().Rejected["per_ip"] != 1 {
			t.Fatalf("stats %+v", srv.Stats().Rejected)
		}
	})
	t.Run("per IP frees slots on close", func(t *testing.T) {
		rec := newRecorder()
		_, addr := startServer(t, rec, func(c *Config) { c.MaxConnsPerIP = 1 })
		c := dial(t, addr, nil)
		rec.nextOpen(t)
		_ = c.Close()
		rec.nextClose(t)
		dial(t, addr, nil)
	})
	t.Run("handshakes per second", func(t *testing.T) {
		srv, addr := startServer(t, newRecorder(), func(c *Config) { c.MaxHandshakesPerSecond = 5 })
		refused := 0
		for range 20 {
			c, err := wstest.Dial(addr, nil)
			var he *wstest.HandshakeError
			switch {
			case err == nil:
				_ = c.Close()
			case errors.As(err, &he) && he.Status == 503:
				refused++
			default:
				t.Fatal(err)
			}
		}
		if refused < 10 || srv.Stats().Rejected["handshake_rate"] != uint64(refused) {
			t.Fatalf("refused %d of 20 at 5/s; stats %+v", refused, srv.Stats().Rejected)
		}
	})
}
