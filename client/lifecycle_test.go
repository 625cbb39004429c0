package client

import (
	"bufio"
	"context"
	"errors"
	"net"
	"testing"
	"time"
	"unsafe"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// An idle connection's own state stays small: Conn is most of what the
// client adds to gnet's connection (README figure).
func TestConnSize(t *testing.T) {
	if s := unsafe.Sizeof(Conn{}); s > 224 {
		t.Fatalf("Conn is %d bytes; keep it within the 224-byte size class", s)
	}
}

// Client.Close sends 1001 to every server and waits for the answers.
func TestClientCloseSendsGoingAway(t *testing.T) {
	codes := make(chan codec.CloseCode, 10)
	_, addr := startServer(t, engine.DefaultConfig("127.0.0.1:0"), engine.Handlers{
		Close: func(c *engine.Conn, err error) {
			var ce *engine.CloseError
			if errors.As(err, &ce) {
				codes <- ce.Code
			}
		},
	})
	cl, err := New(Config{EventLoops: 2})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]*recorder, 5)
	for i := range recs {
		recs[i] = newRecorder()
		if _, err := (&Dialer{Client: cl, Reconnect: &Reconnect{}}).Dial(ctx10(t), "ws://"+addr+"/", recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cl.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		var ce *CloseError
		if err := r.closed(t); !errors.As(err, &ce) || ce.Code != codec.CloseGoingAway || ce.Remote {
			t.Fatalf("OnClose %v", err)
		}
	}
	for range recs {
		select {
		case code := <-codes:
			if code != codec.CloseGoingAway {
				t.Fatalf("server saw %d", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("server did not see the close")
		}
	}
	if _, err := (&Dialer{Client: cl}).Dial(ctx10(t), "ws://"+addr+"/", nil); err != ErrClientClosed {
		t.Fatalf("Dial after Close: %v", err)
	}
}

// Close between sessions ends the connection at once, with our code.
func TestCloseWhileReconnecting(t *testing.T) {
	rs := newRestartable(t, echoConfig)
	down := make(chan struct{}, 10)
	rec := newRecorder()
	d := &Dialer{Client: newClient(t), Reconnect: &Reconnect{
		Backoff:    Backoff{Initial: 10 * time.Second}, // stays waiting
		QueueBytes: 100,
		OnRetry:    func(*Conn, error, int, time.Duration) { down <- struct{}{} },
	}}
	c, err := d.Dial(ctx10(t), "ws://"+rs.addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	rs.stop()
	<-down
	if err := c.WriteText([]byte("queued")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Close(codec.CloseNormal, "giving up"); err != nil {
		t.Fatal(err)
	}
	var ce *CloseError
	if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != codec.CloseNormal || ce.Remote || ce.Reason != "giving up" {
		t.Fatalf("OnClose %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("Close waited for the backoff")
	}
	if c.WriteText([]byte("x")) != ErrClosed || c.Close(codec.CloseNormal, "") != ErrClosed {
		t.Fatal("closed connection accepted calls")
	}
	if c.rc.qbytes.Load() != 0 {
		t.Fatalf("queue still counts %d bytes", c.rc.qbytes.Load())
	}
}

// Writes past MaxOutbound to a server that does not read fail with
// ErrOutboundFull instead of growing the buffer.
func TestOutboundLimit(t *testing.T) {
	release := make(chan struct{})
	addr := rawServer(t, func(c net.Conn, _ *bufio.Reader, key string) {
		_, _ = c.Write([]byte(upgradeResponse(key)))
		<-release // never reads
	})
	defer close(release)
	c, err := (&Dialer{Client: newClient(t), MaxOutbound: 1 << 20}).Dial(ctx10(t), "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Abort()
	msg := make([]byte, 64<<10)
	var full error
	for i := 0; i < 2000 && full == nil; i++ { // at most 128 MiB offered
		if err := c.WriteBinary(msg); err != nil {
			full = err
		}
	}
	if full != ErrOutboundFull {
		t.Fatalf("got %v after filling the socket, want ErrOutboundFull", full)
	}
	if c.Closed() {
		t.Fatal("the connection closed: the limit only refuses writes")
	}
}
