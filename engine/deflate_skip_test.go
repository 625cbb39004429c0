package engine

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
)

// WriteUncompressed sends a message above the threshold plain, on the loop
// and from another goroutine, and under context takeover the next
// compressed message still inflates (the skipped one is not in the
// history).
func TestDeflateWriteUncompressed(t *testing.T) {
	big := bytes.Repeat([]byte("compressible "), 100)
	for _, mode := range []codec.DeflateMode{codec.DeflateNoContextTakeover, codec.DeflateContextTakeover} {
		h := newRecorder()
		h.onMsg = func(c *Conn, typ MessageType, data []byte) {
			_ = c.WriteText(big)
			_ = c.WriteUncompressed(Binary, big)
			_ = c.WriteText(big)
			done := make(chan error)
			go func() { done <- c.WriteUncompressed(Text, big) }()
			if err := <-done; err != nil {
				t.Errorf("WriteUncompressed off the loop: %v", err)
			}
		}
		_, addr := deflateServer(t, mode, h, nil)
		c := dialDeflate(t, addr, "permessage-deflate; client_max_window_bits")
		if err := c.send(ws.OpText, []byte("go"), 1); err != nil {
			t.Fatal(err)
		}
		want := []struct {
			op ws.OpCode
			z  bool
		}{{ws.OpText, true}, {ws.OpBinary, false}, {ws.OpText, true}, {ws.OpText, false}}
		for i, w := range want {
			op, msg, z, err := c.recv()
			if err != nil || op != w.op || z != w.z || !bytes.Equal(msg, big) {
				t.Fatalf("mode %d, message %d: op %v compressed %v (want %v), %d bytes, err %v",
					mode, i, op, z, w.z, len(msg), err)
			}
		}
	}
}
