package client

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

func TestEcho(t *testing.T) {
	_, addr := echoServer(t, nil)
	cl := newClient(t)
	for _, tc := range []struct {
		name string
		size int
		typ  MessageType
	}{
		{"empty", 0, Text},
		{"small text", 5, Text},
		{"125", 125, Binary},
		{"126", 126, Binary},
		{"64k", 64 << 10, Binary},
		{"700k", 700 << 10, Text},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			d := &Dialer{Client: cl}
			c, err := d.Dial(ctx10(t), "ws://"+addr+"/", rec)
			if err != nil {
				t.Fatal(err)
			}
			msg := strings.Repeat("x", tc.size)
			if err := c.WriteMessage(tc.typ, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			if got := rec.next(t); got != msg {
				t.Fatalf("echo: got %d bytes, want %d", len(got), len(msg))
			}
			if rec.types[0] != tc.typ {
				t.Fatalf("type %v, want %v", rec.types[0], tc.typ)
			}
			if err := c.Close(codec.CloseNormal, "bye"); err != nil {
				t.Fatal(err)
			}
			var ce *CloseError
			if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != codec.CloseNormal || ce.Remote {
				t.Fatalf("close: %v", err)
			}
			if !c.Closed() || c.WriteText([]byte("x")) != ErrClosed {
				t.Fatal("writes after close must fail with ErrClosed")
			}
		})
	}
}

func TestWritesFromManyGoroutines(t *testing.T) {
	_, addr := echoServer(t, nil)
	cl := newClient(t)
	rec := newRecorder()
	c, err := (&Dialer{Client: cl}).Dial(ctx10(t), "ws://"+addr+"/", rec)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < n/4; i++ {
				_ = c.WriteText(bytes.Repeat([]byte("y"), 300))
			}
			done <- struct{}{}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	for i := 0; i < n; i++ {
		rec.next(t)
	}
	_ = c.Close(codec.CloseNormal, "")
	rec.closed(t)
}

var _ = engine.Text

// TestTraffic checks Client.Traffic against the frame sizes of an echo:
// each message goes out masked (header + 4-byte key + payload) and comes
// back unmasked (header + payload); the upgrade is not counted.
func TestTraffic(t *testing.T) {
	_, addr := echoServer(t, nil)
	for _, tc := range []struct {
		name     string
		size     int
		hdrIn    int // server frame header
		hdrOut   int // client frame header, mask key included
		messages int
	}{
		{"small", 100, 2, 6, 3},
		{"16-bit length", 1000, 4, 8, 2},
		{"64-bit length", 70000, 10, 14, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newClient(t)
			rec := newRecorder()
			c, err := (&Dialer{Client: cl, PingInterval: -1}).Dial(ctx10(t), "ws://"+addr+"/", rec)
			if err != nil {
				t.Fatal(err)
			}
			if r, w := cl.Traffic(); r != 0 || w != 0 {
				t.Fatalf("after the upgrade: Traffic() = %d, %d, want 0, 0", r, w)
			}
			msg := bytes.Repeat([]byte("t"), tc.size)
			for i := 0; i < tc.messages; i++ {
				if err := c.WriteBinary(msg); err != nil {
					t.Fatal(err)
				}
				if got := rec.next(t); len(got) != tc.size {
					t.Fatalf("echo: %d bytes", len(got))
				}
			}
			// The loop counts what it read once OnMessage has returned.
			wantR, wantW := int64(tc.messages*(tc.size+tc.hdrIn)), int64(tc.messages*(tc.size+tc.hdrOut))
			r, w := cl.Traffic()
			for end := time.Now().Add(5 * time.Second); (r != wantR || w != wantW) && time.Now().Before(end); {
				time.Sleep(5 * time.Millisecond)
				r, w = cl.Traffic()
			}
			if r != wantR || w != wantW {
				t.Errorf("Traffic() = %d read, %d written; want %d, %d", r, w, wantR, wantW)
			}
		})
	}
}
