package codec

import "encoding/binary"

// Header is a decoded frame header (RFC 6455 §5.2).
type Header struct {
	Length int64
	Mask   [4]byte
	OpCode OpCode
	Rsv    uint8 // 0b100 = RSV1, 0b010 = RSV2, 0b001 = RSV3
	Fin    bool
	Masked bool
}

// Bits of the first two header bytes.
const (
	bitFin    = 0x80
	maskRsv   = 0x70
	maskOp    = 0x0f
	bitMasked = 0x80
	maskLen7  = 0x7f

	len16 = 126 // 7-bit length value announcing a 16-bit length
	len64 = 127 // 7-bit length value announcing a 64-bit length
)

// ParseHeader decodes the frame header at the start of p. It returns
// (h, n, nil) with n the header size (2..14) when the header is complete;
// (Header{}, 0, nil) when p is too short; or an *Error for what the header
// alone shows: a reserved opcode (ErrReservedOpcode), a control frame without
// FIN (ErrControlFragmented) or with a payload over 125 bytes
// (ErrControlTooLong), a 64-bit length with its most significant bit set
// (ErrLengthOverflow), or a length not in its minimal encoding
// (ErrNonMinimalLength).
//
// Checks run in the order of the bytes they look at, so the error found for
// a header never depends on how much of the stream came after it.
// ParseHeader does not allocate.
func ParseHeader(p []byte) (Header, int, error) {
	if len(p) < 2 {
		return Header{}, 0, nil
	}
	b0, b1 := p[0], p[1]
	op := OpCode(b0 & maskOp)
	fin := b0&bitFin != 0
	if op.IsReserved() {
		return Header{}, 0, ErrReservedOpcode
	}
	l7 := b1 & maskLen7
	if op.IsControl() {
		// §5.5: control frames are never fragmented and their payload
		// fits the 7-bit length.
		if !fin {
			return Header{}, 0, ErrControlFragmented
		}
		if l7 > MaxControlPayload {
			return Header{}, 0, ErrControlTooLong
		}
	}
	masked := b1&bitMasked != 0
	n := 2
	switch l7 {
	case len16:
		n += 2
	case len64:
		n += 8
	}
	if masked {
		n += 4
	}
	if len(p) < n {
		return Header{}, 0, nil
	}
	h := Header{
		Length: int64(l7),
		OpCode: op,
		Rsv:    (b0 & maskRsv) >> 4,
		Fin:    fin,
		Masked: masked,
	}
	switch l7 {
	case len16:
		v := binary.BigEndian.Uint16(p[2:4])
		if v < len16 {
			return Header{}, 0, ErrNonMinimalLength
		}
		h.Length = int64(v)
	case len64:
		v := binary.BigEndian.Uint64(p[2:10])
		if v>>63 != 0 {
			return Header{}, 0, ErrLengthOverflow
		}
		if v <= 0xffff {
			return Header{}, 0, ErrNonMinimalLength
		}
		h.Length = int64(v)
	}
	if masked {
		copy(h.Mask[:], p[n-4:n])
	}
	return h, n, nil
}

// headerSize is the size of a header for a payload of length bytes.
func headerSize(length int64, masked bool) int {
	n := 2
	switch {
	case length > 0xffff:
		n += 8
	case length >= len16:
		n += 2
	}
	if masked {
		n += 4
	}
	return n
}
