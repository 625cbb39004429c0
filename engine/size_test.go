package engine

import (
	"testing"
	"unsafe"

	"github.com/switchboard-ws/switchboard/codec"
)

// The Conn struct is the whole per-connection cost of the WebSocket layer
// (besides gnet's own conn): keep it from growing by accident.
func TestConnSize(t *testing.T) {
	size := unsafe.Sizeof(Conn{})
	t.Logf("Conn %d bytes (Decoder %d)", size, unsafe.Sizeof(codec.Decoder{}))
	if unsafe.Sizeof(uintptr(0)) == 8 && size > 128 {
		t.Fatalf("Conn grew to %d bytes; the budget is 128, one size class (see docs/architecture.md)", size)
	}
}

// A TLS connection's Conn and TLS state share one allocation (tlsBox):
// keep it within the 416-byte size class (320 until each direction kept
// its derived key and IV, 88 bytes, so that a cipher cache miss costs no
// HKDF).
func TestTLSBoxSize(t *testing.T) {
	size := unsafe.Sizeof(tlsBox{})
	t.Logf("tlsBox %d bytes (tlsConn %d)", size, unsafe.Sizeof(tlsConn{}))
	if unsafe.Sizeof(uintptr(0)) == 8 && size > 416 {
		t.Fatalf("tlsBox grew to %d bytes; the budget is 416, one size class (see docs/architecture.md)", size)
	}
}
