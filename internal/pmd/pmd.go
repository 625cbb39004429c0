package pmd

import (
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Errors Inflate returns. They are package values: compare with ==.
var (
	// ErrTooLarge: the message inflates to more than the limit (a
	// decompression bomb or an oversized message). The engine closes 1009.
	ErrTooLarge = errors.New("pmd: inflated message exceeds the limit")
	// ErrCorrupt: the payload is not valid DEFLATE data. The engine closes
	// 1007.
	ErrCorrupt = errors.New("pmd: invalid compressed data")
)

// Level is the flate level of Deflate: 1, best speed. Chat and market JSON
// compresses 3–8× at this level; higher levels cost 2–5× the CPU for a
// few percent.
const Level = flate.BestSpeed

// Levels DeflateLevel accepts: klauspost/compress's fast encoders 1–6 and
// its lazy-matching ones 7–9.
const (
	MinLevel = flate.BestSpeed
	MaxLevel = flate.BestCompression
)

// tail is what RFC 7692 §7.2.2 says to append to a message before
// inflating it (the end of the sync flush the sender removed), followed by
// an empty final stored block so the inflater reports io.EOF instead of
// waiting for more input. A payload that already ended with a final block
// (BFINAL set, §7.2.3.4) never reads it.
var tail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// compressor is a pooled flate writer and the sink it writes into.
type compressor struct {
	fw  *flate.Writer
	out appendWriter
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// compressors holds one pool of compressors per level (index level), each
// made on first use: a process that compresses at one level only ever
// holds writers of that level.
var compressors [MaxLevel + 1]sync.Pool

// decompressor is a pooled flate reader and the source it reads from.
type decompressor struct {
	fr      io.ReadCloser // also a flate.Resetter
	src     source
	one     [1]byte  // probes for a byte past the limit without escaping
	scratch [64]byte // scrub's output, discarded
}

// scrubStream is a valid permessage-deflate payload of one dynamic-Huffman
// block with non-empty literal and distance codes, inflated by every
// decompressor before it goes back to the pool (scrub).
//
// Why: klauspost/compress's inflater keeps its Huffman lookup tables
// between streams and rebuilds them per block, but an empty code (which
// DEFLATE allows to be declared, and which only a malformed stream then
// uses) leaves the previous stream's table in place, where the standard
// library's would be zero and fail. A malformed message could then decode
// with the table of the message inflated before it, on another connection:
// garbage instead of an error, shaped by someone else's message. After the
// scrub the tables left are this constant stream's, so every Inflate starts
// from the same state and no table outlives the message that built it
// (TestInflateNoStaleTables).
var scrubStream = DeflateLevel(nil, scrubPlain(), nil, MaxLevel)

// scrubPlain is what scrubStream inflates to: 32 bytes that the strongest
// level codes as one small dynamic-Huffman block (TestScrubStream).
func scrubPlain() []byte {
	const alpha = "etaoinshrdlucmfw"
	s := make([]byte, 32)
	for i := range s {
		s[i] = alpha[(i*7+i*i/3)%len(alpha)]
	}
	return s
}

// scrub inflates scrubStream, replacing whatever tables the last stream
// left (see scrubStream).
func (d *decompressor) scrub() {
	d.src.reset(scrubStream)
	if err := d.fr.(flate.Resetter).Reset(&d.src, nil); err == nil {
		for {
			if _, err := d.fr.Read(d.scratch[:]); err != nil {
				break
			}
		}
	}
	d.src.reset(nil)
}

var decompressors = sync.Pool{New: func() any {
	d := new(decompressor)
	d.fr = flate.NewReader(&d.src)
	return d
}}

// source reads a payload and then the tail, without copying either. It is an
// io.ByteReader, so the inflater does not wrap it in a bufio.Reader.
type source struct {
	p []byte
	i int
}

func (s *source) reset(p []byte) { s.p, s.i = p, 0 }

func (s *source) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c, err := s.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		b[n] = c
		n++
	}
	return n, nil
}

func (s *source) ReadByte() (byte, error) {
	i := s.i
	if i < len(s.p) {
		s.i++
		return s.p[i], nil
	}
	if i -= len(s.p); i < len(tail) {
		s.i++
		return tail[i], nil
	}
	return 0, io.EOF
}

// Deflate appends to dst the permessage-deflate payload of msg: msg
// compressed as one sync-flushed DEFLATE stream with its trailing 0x00 0x00
// 0xff 0xff removed (RFC 7692 §7.2.1). dict, when not empty, is the
// connection's Window under context takeover (at most 32 KiB are used); nil
// compresses the message alone, as no context takeover and broadcasts need.
// The result may be longer than msg (small or incompressible messages): the
// caller then sends msg uncompressed. A compressor is borrowed from a pool
// for the call; nothing is allocated in steady state beyond growing dst.
func Deflate(dst, msg, dict []byte) []byte {
	return DeflateLevel(dst, msg, dict, Level)
}

// DeflateLevel is Deflate at flate level level (MinLevel..MaxLevel; outside
// that range, Level). Each level has its own pool of compressors.
func DeflateLevel(dst, msg, dict []byte, level int) []byte {
	if level < MinLevel || level > MaxLevel {
		level = Level
	}
	pool := &compressors[level]
	c, _ := pool.Get().(*compressor)
	if c == nil {
		c = new(compressor)
		c.fw, _ = flate.NewWriter(&c.out, level) // cannot fail for 1..9
	}
	c.out.b = dst
	// Always ResetDict, even with a nil dict: Reset would reuse the
	// dictionary of the previous borrower.
	c.fw.ResetDict(&c.out, dict)
	_, _ = c.fw.Write(msg) // appendWriter never fails
	_ = c.fw.Flush()
	out := c.out.b
	c.out.b = nil
	pool.Put(c)
	return trimTail(out, len(dst))
}

// trimTail removes the 0x00 0x00 0xff 0xff that ends a sync flush from
// out, whose first start bytes were there before compressing.
func trimTail(out []byte, start int) []byte {
	if n := len(out); n-start >= 4 && out[n-4] == 0 && out[n-3] == 0 && out[n-2] == 0xff && out[n-1] == 0xff {
		out = out[:n-4]
	}
	return out
}

// minGrow is the least Inflate grows dst by when it runs out of room.
const minGrow = 512

// Inflate appends to dst the message that payload (a permessage-deflate
// payload, RFC 7692 §7.2.2) inflates to, reading at most limit bytes of
// output: if there would be more it stops there and returns ErrTooLarge, so
// a decompression bomb costs at most limit bytes of buffer and the CPU time
// to produce them. dict, when not empty, is the connection's inbound Window
// under context takeover. dst grows only as output is produced (doubling,
// at least 512 bytes, never past len(dst)+limit): a dst with room for limit
// bytes is never reallocated. Invalid data returns ErrCorrupt. On error the
// returned slice holds what was inflated so far. A decompressor is borrowed
// from a pool for the call.
func Inflate(dst, payload, dict []byte, limit int) ([]byte, error) {
	d := decompressors.Get().(*decompressor)
	defer func() {
		d.scrub()
		decompressors.Put(d)
	}()
	d.src.reset(payload)
	if err := d.fr.(flate.Resetter).Reset(&d.src, dict); err != nil {
		return dst, ErrCorrupt
	}
	end := len(dst) + max(limit, 0)
	for {
		if len(dst) == end {
			// At the limit: the message is too large if one more byte comes.
			for {
				n, err := d.fr.Read(d.one[:])
				switch {
				case n > 0:
					return dst, ErrTooLarge
				case err == io.EOF:
					return dst, nil
				case err != nil:
					return dst, ErrCorrupt
				}
			}
		}
		if len(dst) == cap(dst) {
			grown := make([]byte, len(dst), len(dst)+min(max(len(dst), minGrow), end-len(dst)))
			dst = grown[:copy(grown, dst)]
		}
		room := dst[len(dst):min(cap(dst), end)]
		n, err := d.fr.Read(room)
		dst = dst[:len(dst)+n]
		switch {
		case err == io.EOF:
			return dst, nil
		case err != nil:
			return dst, ErrCorrupt
		}
	}
}
