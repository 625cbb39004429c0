package codec

import (
	"encoding/binary"
	"unsafe"
)

// PreparedFrame is a message encoded once into immutable bytes that many
// connections can write (broadcast). It is safe for concurrent use.
//
// To cost one allocation per broadcast, a *PreparedFrame points at the first
// byte of the encoded frame itself: the frame's header already says its
// opcode and length, so there is nothing else to store. The bytes are
// allocated as one []byte, hold no pointers, and an interior pointer keeps
// them alive for the garbage collector.
type PreparedFrame struct {
	first byte // first byte of the frame; the rest follows in the same allocation
}

// NewPreparedFrame encodes payload as one final, unmasked frame of opcode
// op. It copies payload and allocates once.
func NewPreparedFrame(op OpCode, payload []byte) *PreparedFrame {
	return NewPreparedFrameRSV(op, 0, payload)
}

// NewPreparedFrameRSV is NewPreparedFrame with the reserved bits rsv
// (0b100 is RSV1, 0b010 RSV2, 0b001 RSV3) set in the header: with RSV1, a
// permessage-deflate message whose payload was compressed without a
// dictionary (see Conn.SharedDeflate in package engine), which every
// connection that negotiated server_no_context_takeover can share. It
// copies payload and allocates once.
func NewPreparedFrameRSV(op OpCode, rsv byte, payload []byte) *PreparedFrame {
	var h [MaxHeaderSize]byte
	n := PutHeader(h[:], true, rsv&0b111, op, int64(len(payload)), nil)
	b := make([]byte, n+len(payload))
	copy(b, h[:n])
	copy(b[n:], payload)
	return (*PreparedFrame)(unsafe.Pointer(&b[0]))
}

// header returns the frame's header size and payload length, read back from
// the header PutHeader wrote (unmasked, minimal length encoding).
func (f *PreparedFrame) header() (n, length int) {
	p := unsafe.Slice(&f.first, 2)
	switch l7 := p[1] & maskLen7; l7 {
	case len16:
		return 4, int(binary.BigEndian.Uint16(unsafe.Slice(&f.first, 4)[2:]))
	case len64:
		return 10, int(binary.BigEndian.Uint64(unsafe.Slice(&f.first, 10)[2:]))
	default:
		return 2, int(l7)
	}
}

// Bytes returns the whole frame, header and payload. Callers must not
// modify it.
func (f *PreparedFrame) Bytes() []byte {
	n, length := f.header()
	return unsafe.Slice(&f.first, n+length)
}

// OpCode returns the frame's opcode.
func (f *PreparedFrame) OpCode() OpCode { return OpCode(f.first & maskOp) }

// RSV returns the frame's reserved bits (0b100 is RSV1: compressed).
func (f *PreparedFrame) RSV() byte { return f.first >> 4 & 0b111 }

// PayloadLen returns the length of the frame's payload.
func (f *PreparedFrame) PayloadLen() int {
	_, length := f.header()
	return length
}
