package client

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/region"
)

// Large messages both ways, over ws:// and wss:// (the record layer and
// crypto/tls): sizes around the pieces a frame is masked and written in
// (sendChunk) and past the 64 KiB where the decoder moves a message to a
// region. The payload is random, so a mask resumed at the wrong offset in
// a later piece, or a piece written twice or not at all, changes the
// echo.
func TestLargeMessages(t *testing.T) {
	cert := testCert(t)
	_, plain := echoServer(t, func(c *engine.Config) { c.MaxMessageSize = 4 << 20 })
	_, secure := echoServer(t, func(c *engine.Config) {
		c.MaxMessageSize = 4 << 20
		c.TLS = cert.ServerConfig()
	})
	sizes := []int{sendChunk - 1, sendChunk, sendChunk + 1, 2*sendChunk + 12345, 1<<20 + 3, 3<<20 + 1}
	for _, tc := range []struct {
		name, url string
		max       uint16
	}{
		{"ws", "ws://" + plain + "/", 0},
		{"wss TLS 1.3", "wss://" + secure + "/", tls.VersionTLS13},
		{"wss TLS 1.2", "wss://" + secure + "/", tls.VersionTLS12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Dialer{Client: newClient(t), MaxMessageSize: 4 << 20, MaxOutbound: 8 << 20}
			if tc.max != 0 {
				d.TLSConfig = cert.ClientConfig("localhost")
				d.TLSConfig.MaxVersion = tc.max
			}
			rec := newRecorder()
			c, err := d.Dial(ctx10(t), tc.url, rec)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(len(tc.name)), 7))
			for _, n := range sizes {
				msg := make([]byte, n)
				for i := range msg {
					msg[i] = byte(rng.Uint32())
				}
				if err := c.WriteMessage(Binary, msg); err != nil {
					t.Fatal(err)
				}
				if got := rec.next(t); !bytes.Equal([]byte(got), msg) {
					t.Fatalf("%d bytes: got %d bytes back, different", n, len(got))
				}
			}
			_ = c.Close(1000, "")
			rec.closed(t)
		})
	}
}

// Echoing 1 MiB messages takes no heap buffer of a message's size per
// round trip, on either side: the client masks and writes a frame in
// pieces through its scratch, and its decoder (as the engine's) reads a
// large message into a reused region. Before, the client allocated about
// 3 MiB per round trip (its frame, and a message buffer regrown by
// doubling).
func TestLargeEchoHeap(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation figures are checked without -race (make test's load step)")
	}
	_, addr := echoServer(t, func(c *engine.Config) { c.MaxMessageSize = 2 << 20 })
	d := &Dialer{Client: newClient(t), MaxMessageSize: 2 << 20, MaxOutbound: 4 << 20}
	back := make(chan int, 1)
	c, err := d.Dial(ctx10(t), "ws://"+addr+"/", Handlers{
		Message: func(c *Conn, typ MessageType, data []byte) { back <- len(data) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(1000, "")
	msg := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	echo := func() {
		if err := c.WriteMessage(Binary, msg); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-back:
			if n != len(msg) {
				t.Fatalf("got %d bytes", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no echo in 10 s")
		}
	}
	for i := 0; i < 3; i++ {
		echo() // buffers and regions exist before the measured round trips
	}
	const rounds = 20
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := 0; i < rounds; i++ {
		echo()
	}
	runtime.ReadMemStats(&m1)
	per := (m1.TotalAlloc - m0.TotalAlloc) / rounds
	t.Logf("heap allocated per 1 MiB round trip (client and server): %d B", per)
	if per > 128<<10 {
		t.Fatalf("%d B allocated per 1 MiB round trip: more than 128 KiB", per)
	}
}

// A server that goes away in the middle of a large message: the region
// the message was being read into goes back to its pool when the session
// ends (the decoder is released), so dropped connections leak no mapping.
func TestLargeMessageCutRegionBack(t *testing.T) {
	if region.For(2<<20) == nil {
		t.Skip("no regions on this platform")
	}
	before := region.ReadStats().InUse
	held := make(chan bool, 1)
	addr := rawServer(t, func(c net.Conn, r *bufio.Reader, key string) {
		hdr := []byte{0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 0} // binary, final, 1 MiB declared
		_, _ = c.Write(append([]byte(upgradeResponse(key)), hdr...))
		_, _ = c.Write(make([]byte, 200<<10)) // a fifth of it
		// The client reads it into a region before the connection drops.
		deadline := time.Now().Add(5 * time.Second)
		for region.ReadStats().InUse == before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		held <- region.ReadStats().InUse == before+1
	})
	rec := newRecorder()
	if _, err := (&Dialer{Client: newClient(t), MaxMessageSize: 2 << 20}).Dial(ctx10(t), "ws://"+addr+"/", rec); err != nil {
		t.Fatal(err)
	}
	if !<-held {
		t.Fatal("the partial message was not read into a region")
	}
	var ce *CloseError
	if err := rec.closed(t); !errors.As(err, &ce) || ce.Code != codec.CloseAbnormal {
		t.Fatalf("close = %v, want 1006", err)
	}
	if got := region.ReadStats().InUse; got != before {
		t.Fatalf("regions in use: %d after the session ended, %d before it", got, before)
	}
}
