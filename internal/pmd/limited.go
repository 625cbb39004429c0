package pmd

import (
	"sync"

	"github.com/klauspost/compress/flate"
)

// Window bits a limited compressor accepts (RFC 7692 §7.1.2.1 allows 8..15;
// 15 is the ordinary compressor).
const (
	MinLimitBits = 8
	MaxLimitBits = 15
)

// limited holds one pool of window-limited compressors per bit count
// (index bits-MinLimitBits), made on first use: only peers that demand a
// server_max_window_bits below 15 ever need them.
var limited [MaxLimitBits - MinLimitBits]sync.Pool

// DeflateLimited is Deflate without a dictionary for a peer that announced
// server_max_window_bits=bits: no back-reference in the output reaches
// further than 2^bits bytes, so an inflater with that window (zlib's
// wbits) reads it. It is DeflateWithin with no dictionary at Level.
func DeflateLimited(dst, msg []byte, bits int) []byte {
	return DeflateWithin(dst, msg, nil, bits, Level)
}

// DeflateWithin is DeflateLevel under context takeover with a window of
// 2^bits bytes (the server_max_window_bits the server announced): no
// back-reference reaches further than 2^bits bytes, into dict (the
// history, newest last) or into msg itself. A message no longer than the
// window takes the ordinary pooled compressor at level with only as much
// of the history as fits in the window beside it (so no distance can pass
// the window); a longer one borrows a compressor limited to the window
// (klauspost/compress's NewWriterWindow, whose encoder is its level-5
// one), primed with the history. bits >= 15 is DeflateLevel; bits below 8
// count as 8.
func DeflateWithin(dst, msg, dict []byte, bits, level int) []byte {
	if bits >= MaxLimitBits {
		return DeflateLevel(dst, msg, dict, level)
	}
	bits = max(bits, MinLimitBits)
	if w := 1 << bits; len(msg) <= w {
		if keep := w - len(msg); len(dict) > keep {
			dict = dict[len(dict)-keep:]
		}
		return DeflateLevel(dst, msg, dict, level)
	}
	pool := &limited[bits-MinLimitBits]
	c, _ := pool.Get().(*compressor)
	if c == nil {
		c = new(compressor)
		c.fw, _ = flate.NewWriterWindow(&c.out, 1<<bits) // 256..16384: valid
	}
	c.out.b = dst
	// Always ResetDict, even with a nil dict: Reset would reuse the
	// dictionary of the previous borrower.
	c.fw.ResetDict(&c.out, dict)
	_, _ = c.fw.Write(msg)
	_ = c.fw.Flush()
	out := c.out.b
	c.out.b = nil
	pool.Put(c)
	return trimTail(out, len(dst))
}
