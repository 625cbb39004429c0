package codec

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// PutHeader writes a frame header into b, which must hold at least
// MaxHeaderSize bytes, and returns its size. rsv holds the RSV bits as in
// Header.Rsv. A nil mask writes an unmasked header (server frames, §5.1).
// length must not be negative.
func PutHeader(b []byte, fin bool, rsv uint8, op OpCode, length int64, mask *[4]byte) int {
	_ = b[MaxHeaderSize-1] // one bounds check for all writes below
	b0 := byte(op)&maskOp | (rsv<<4)&maskRsv
	if fin {
		b0 |= bitFin
	}
	b[0] = b0
	var b1 byte
	if mask != nil {
		b1 = bitMasked
	}
	n := 2
	switch {
	case length > 0xffff:
		b[1] = b1 | len64
		binary.BigEndian.PutUint64(b[2:10], uint64(length))
		n = 10
	case length >= len16:
		b[1] = b1 | len16
		binary.BigEndian.PutUint16(b[2:4], uint16(length))
		n = 4
	default:
		b[1] = b1 | byte(length)
	}
	if mask != nil {
		copy(b[n:n+4], mask[:])
		n += 4
	}
	return n
}

// appendHeader appends a frame header to dst.
func appendHeader(dst []byte, fin bool, rsv uint8, op OpCode, length int64, mask *[4]byte) []byte {
	var h [MaxHeaderSize]byte
	n := PutHeader(h[:], fin, rsv, op, length, mask)
	return append(dst, h[:n]...)
}

// AppendFrame appends one final, unmasked frame carrying payload to dst.
func AppendFrame(dst []byte, op OpCode, payload []byte) []byte {
	return AppendFragment(dst, op, true, payload)
}

// AppendFragment appends one unmasked frame to dst. To fragment a message,
// send its opcode with fin=false, then OpContinuation frames, the last with
// fin=true (§5.4).
func AppendFragment(dst []byte, op OpCode, fin bool, payload []byte) []byte {
	dst = appendHeader(dst, fin, 0, op, int64(len(payload)), nil)
	return append(dst, payload...)
}

// AppendMaskedFrame appends one frame masked with mask, as a client sends it
// (§5.3). payload is not modified.
func AppendMaskedFrame(dst []byte, op OpCode, fin bool, payload []byte, mask [4]byte) []byte {
	dst = appendHeader(dst, fin, 0, op, int64(len(payload)), &mask)
	start := len(dst)
	dst = append(dst, payload...)
	ws.Cipher(dst[start:], mask, 0)
	return dst
}
