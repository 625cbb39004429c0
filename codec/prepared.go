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
// (0b100 is RSV1, 0b010 RSV2, 0b001 RSV3) set in the header. With RSV1 it
// is NewPreparedFrameDeflate with a 15-bit window: a permessage-deflate
// message compressed without a dictionary and with no window limit. It
// copies payload and allocates once.
func NewPreparedFrameRSV(op OpCode, rsv byte, payload []byte) *PreparedFrame {
	return newPrepared(op, rsv&0b111, payload, DeflateMaxWindowBits)
}

// NewPreparedFrameDeflate encodes z, a permessage-deflate payload (RFC
// 7692 §7.2.1) compressed without a dictionary and with no back-reference
// further than 2^windowBits bytes, as one final frame with RSV1: a message
// every connection whose agreed window is at least that large can share
// (engine.Conn.SharedDeflate), with or without context takeover. windowBits
// is clamped to 8..15. It copies z and allocates once.
func NewPreparedFrameDeflate(op OpCode, z []byte, windowBits int) *PreparedFrame {
	return newPrepared(op, 0b100, z, min(max(windowBits, 8), DeflateMaxWindowBits))
}

// newPrepared allocates the frame; a compressed one (RSV1) is preceded in
// its allocation by one byte, its window bits.
func newPrepared(op OpCode, rsv byte, payload []byte, bits int) *PreparedFrame {
	var h [MaxHeaderSize]byte
	n := PutHeader(h[:], true, rsv, op, int64(len(payload)), nil)
	pre := 0
	if rsv&0b100 != 0 {
		pre = 1
	}
	b := make([]byte, pre+n+len(payload))
	if pre != 0 {
		b[0] = byte(bits)
	}
	copy(b[pre:], h[:n])
	copy(b[pre+n:], payload)
	return (*PreparedFrame)(unsafe.Pointer(&b[pre]))
}

// WindowBits returns, for a compressed frame (RSV1), the window its
// payload stays within: no back-reference reaches further than
// 2^WindowBits bytes. 0 for a frame without RSV1.
func (f *PreparedFrame) WindowBits() int {
	if f.first&0x40 == 0 {
		return 0
	}
	return int(*(*byte)(unsafe.Add(unsafe.Pointer(&f.first), -1)))
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
