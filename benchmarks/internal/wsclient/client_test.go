package wsclient

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
)

func TestMaskBytes(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for _, n := range []int{0, 1, 3, 7, 8, 9, 31, 32, 33, 100, 4099} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		want := append([]byte(nil), b...)
		for i := range want {
			want[i] ^= key[i&3]
		}
		maskBytes(b, key)
		if !bytes.Equal(b, want) {
			t.Fatalf("n=%d: masked differently from byte by byte", n)
		}
	}
}

// pipeConn returns a client Conn over an in-memory pipe and the server end.
func pipeConn() (*Conn, net.Conn) {
	a, b := net.Pipe()
	c := &Conn{nc: a, br: bufio.NewReaderSize(a, 2048)}
	return c, b
}

// serverFrame encodes an unmasked frame, as a server sends it.
func serverFrame(fin bool, op byte, p []byte) []byte {
	b := []byte{op, 0}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(p); {
	case n < 126:
		b[1] = byte(n)
	case n <= 0xFFFF:
		b[1] = 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b[1] = 127
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, p...)
}

func TestReadLargeFragmented(t *testing.T) {
	c, srv := pipeConn()
	defer srv.Close()
	msg := make([]byte, 3<<20+5)
	for i := range msg {
		msg[i] = byte(i)
	}
	go func() {
		// one 3 MiB message in 32 KiB fragments, then a close frame
		for off := 0; off < len(msg); off += 32 << 10 {
			end := min(off+32<<10, len(msg))
			op := byte(OpCont)
			if off == 0 {
				op = OpBinary
			}
			_, _ = srv.Write(serverFrame(end == len(msg), op, msg[off:end]))
		}
		_, _ = srv.Write(serverFrame(true, OpClose, []byte{0x03, 0xF5, 'x'}))
		_, _ = srv.Read(make([]byte, 64)) // the close reply
	}()
	op, p, err := c.ReadMessage()
	if err != nil || op != OpBinary || !bytes.Equal(p, msg) {
		t.Fatalf("op %d, %d bytes, %v", op, len(p), err)
	}
	_, _, err = c.ReadMessage()
	var ce *CloseError
	if !errors.Is(err, ErrClosed) || !errors.As(err, &ce) || ce.Code != 1013 || ce.Reason != "x" {
		t.Fatalf("close: %v", err)
	}
}

func TestWritePartial(t *testing.T) {
	c, srv := pipeConn()
	defer srv.Close()
	frame := AppendFrame(nil, OpBinary, make([]byte, 1000), [4]byte{1, 2, 3, 4})
	done := make(chan []byte)
	go func() {
		b := make([]byte, len(frame))
		n, _ := srv.Read(b)
		done <- b[:n]
	}()
	if err := c.WritePartial(frame[:len(frame)-1]); err != nil {
		t.Fatal(err)
	}
	if got := <-done; !bytes.Equal(got, frame[:len(frame)-1]) {
		t.Fatalf("wrote %d bytes", len(got))
	}
	if err := c.WriteFrame(OpPing, nil); !errors.Is(err, ErrFrameOpen) {
		t.Fatalf("write after WritePartial: %v", err)
	}
	if err := c.WriteRaw([]byte{0}); !errors.Is(err, ErrFrameOpen) {
		t.Fatalf("raw write after WritePartial: %v", err)
	}
}

func BenchmarkMask1MiB(b *testing.B) {
	p := make([]byte, 1<<20)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		maskBytes(p, [4]byte{1, 2, 3, 4})
	}
}
