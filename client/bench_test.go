package client

import (
	"testing"

	"github.com/switchboard-ws/switchboard/engine"
)

// BenchmarkEchoRoundTrip: one connection, a 64-byte message to the engine's
// echo and back, written from the handler (on the loop). allocs/op counts
// the whole process: client and in-process server.
func BenchmarkEchoRoundTrip(b *testing.B) {
	_, addr := echoServer(b, func(c *engine.Config) { c.MaxMessagesPerSecond, c.MaxBytesPerSecond = 0, 0 })
	cl := newClient(b)
	done := make(chan struct{})
	n := 0
	payload := make([]byte, 64)
	h := &Handlers{Message: func(c *Conn, _ MessageType, data []byte) {
		n++
		if n >= b.N {
			close(done)
			return
		}
		_ = c.WriteBinary(data)
	}, Close: func(_ *Conn, err error) {
		if n < b.N {
			b.Error(err)
			close(done)
		}
	}}
	c, err := (&Dialer{Client: cl}).Dial(ctx10(b), "ws://"+addr+"/", h)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	_ = c.WriteBinary(payload)
	<-done
}
