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
// wbits) reads it. A message no longer than the window cannot hold a
// longer reference and takes the ordinary pooled compressor; a longer one
// borrows a compressor limited to the window (klauspost/compress's
// NewWriterWindow). bits >= 15 is plain Deflate; bits below 8 count as 8.
func DeflateLimited(dst, msg []byte, bits int) []byte {
	if bits >= MaxLimitBits || len(msg) <= 1<<max(bits, MinLimitBits) {
		return Deflate(dst, msg, nil)
	}
	bits = max(bits, MinLimitBits)
	pool := &limited[bits-MinLimitBits]
	c, _ := pool.Get().(*compressor)
	if c == nil {
		c = new(compressor)
		c.fw, _ = flate.NewWriterWindow(&c.out, 1<<bits) // 256..16384: valid
	}
	c.out.b = dst
	c.fw.Reset(&c.out)
	_, _ = c.fw.Write(msg)
	_ = c.fw.Flush()
	out := c.out.b
	c.out.b = nil
	pool.Put(c)
	return trimTail(out, len(dst))
}
