package codec

import (
	"sync"

	"github.com/gobwas/ws"
)

// The message in progress.
//
// A data frame whose payload has not all arrived is consumed as far as it
// has: its bytes leave the caller's input at once, unmasked into the
// message buffer (and UTF-8-checked, for text). The caller's input buffer
// therefore never holds more than one partial frame header, and the bytes
// of a message are held once, in one place: the message buffer.
//
// Ownership: the message buffer belongs to the decoder from the first byte
// of a message until the Decode or Recycle call after the one that returned
// the message (whose Payload is the buffer). It is then given back: to the
// stream pool with its stream (small heap buffers), or to
// DecoderConfig.Large.

// SmallMessageMax is the largest message buffer kept on the heap and pooled
// with its decoder state when DecoderConfig.Large is set; a message that
// grows past it moves to a buffer from Large.
const SmallMessageMax = 64 << 10

// keepSmall is the largest heap buffer a stream keeps while its message is
// in a buffer from Large: a larger one is dropped, so a stalled large
// message holds its bytes once.
const keepSmall = 4 << 10

// minMessageBuffer is the first capacity a message buffer grows to, so
// small fragments do not regrow it several times.
const minMessageBuffer = 512

// stream is the state of a message in progress, pooled.
type stream struct {
	buf   []byte // payload bytes of the message so far
	small []byte // the stream's heap buffer (<= keepSmall) while buf comes from Large
	large bool   // buf comes from DecoderConfig.Large

	// The data frame being consumed as it arrives (left > 0).
	left   int64   // payload bytes of the frame still to come
	mask   [4]byte // its masking key
	pos    uint8   // offset in mask of the next byte
	masked bool
	fin    bool
}

var streamPool = sync.Pool{New: func() any { return new(stream) }}

// startFrame consumes the header at p[:n] of a data frame whose payload has
// not all arrived, and what has of its payload.
func (d *Decoder) startFrame(h *Header, p []byte, n int) (Message, int, error) {
	if h.OpCode != OpContinuation {
		d.begin(h)
	}
	st := d.stream()
	st.left, st.mask, st.pos, st.masked, st.fin = h.Length, h.Mask, 0, h.Masked, h.Fin
	if expect := int64(len(st.buf)) + h.Length; !st.large && d.cfg.Large != nil && expect > d.cfg.smallMessageMax() {
		// A large frame: take its buffer now (address space only), so
		// its payload can be read straight into it (Room).
		d.realloc(len(st.buf), expect)
	}
	msg, k, err := d.resume(p[n:])
	if err != nil {
		return msg, 0, err
	}
	return msg, n + k, nil
}

// resume consumes the next payload bytes of the frame in progress from p.
func (d *Decoder) resume(p []byte) (Message, int, error) {
	st := d.st
	k := len(p)
	if int64(k) > st.left {
		k = int(st.left)
	}
	if k == 0 {
		return Message{}, 0, nil
	}
	dst, err := d.grow(k, st.left)
	if err != nil {
		return d.fail(err)
	}
	copy(dst, p[:k])
	return d.arrived(dst, k)
}

// arrived takes dst, the next payload bytes of the frame in progress just
// placed at the end of the message buffer, as n consumed bytes: unmasks
// them, checks text and finishes the message when the frame was its last.
func (d *Decoder) arrived(dst []byte, n int) (Message, int, error) {
	st := d.st
	if st.masked {
		ws.Cipher(dst, st.mask, int(st.pos))
		st.pos = uint8((int(st.pos) + len(dst)) & 3)
	}
	if d.checkText() && !d.utf8.Write(dst) {
		return d.fail(ErrInvalidUTF8)
	}
	st.left -= int64(len(dst))
	if st.left > 0 || !st.fin {
		return Message{}, n, nil
	}
	return d.finish(d.st.buf, n)
}

// Room returns where the next payload bytes of the data frame being
// consumed may be written directly, by a read from a socket or a decrypting
// layer, instead of being passed to Decode: the free space after the
// message in its buffer from DecoderConfig.Large, at most the bytes the
// frame still lacks and at most max. It returns nil when no frame is being
// consumed, the message is not in such a buffer, or d has failed. After
// writing n bytes at the start of the returned slice, call Wrote(n); until
// then, do not call Decode.
func (d *Decoder) Room(max int) []byte {
	st := d.st
	if d.err != 0 || st == nil || st.left == 0 || !st.large || max <= 0 {
		return nil
	}
	n := len(st.buf)
	k := int(min(st.left, int64(max), int64(cap(st.buf)-n)))
	return st.buf[n : n+k : n+k]
}

// Wrote consumes n bytes written at the start of the slice Room returned,
// exactly as Decode would have consumed them: it returns the message they
// complete, if any (Message.Kind is KindNone otherwise), or an error
// (ErrInvalidUTF8, ErrOverBudget: the bytes are then dropped with the
// message; the decoder stays failed).
func (d *Decoder) Wrote(n int) (Message, error) {
	if n <= 0 {
		return Message{}, nil
	}
	st := d.st
	if d.err != 0 || st == nil || !st.large || int64(n) > st.left || n > cap(st.buf)-len(st.buf) {
		panic("codec: Wrote without Room, or more than it returned")
	}
	if b := d.cfg.Budget; b != nil && !b.take(n) {
		_, _, err := d.fail(ErrOverBudget)
		return Message{}, err
	}
	k := len(st.buf)
	st.buf = st.buf[:k+n]
	msg, _, err := d.arrived(st.buf[k:], n)
	return msg, err
}

// stream returns the state of the message in progress, taking it from the
// pool if needed.
func (d *Decoder) stream() *stream {
	if d.st == nil {
		st := streamPool.Get().(*stream)
		if int64(cap(st.buf)) > d.cfg.maxMessageSize() {
			// Grown by a decoder with a larger limit: drop it so that this
			// decoder's memory stays within its own limit.
			st.buf = nil
		}
		d.st = st
	}
	return d.st
}

// grow extends the message buffer by k bytes and returns them, to be
// filled. want (>= k) is how many more bytes the frame being read
// declares: it decides whether the message moves to a buffer from Large
// (an address-space reservation, not memory), never how much memory is
// taken. The budget is charged k bytes: bytes that have arrived.
func (d *Decoder) grow(k int, want int64) ([]byte, error) {
	if b := d.cfg.Budget; b != nil && !b.take(k) {
		return nil, ErrOverBudget
	}
	st := d.stream()
	n := len(st.buf)
	if need := n + k; need > cap(st.buf) {
		d.realloc(need, int64(n)+want)
	} else if !st.large && int64(n)+want > d.cfg.smallMessageMax() && d.cfg.Large != nil {
		d.realloc(need, int64(n)+want)
	}
	st.buf = st.buf[:n+k]
	return st.buf[n:], nil
}

// realloc gives the message buffer room for need bytes (and, from Large,
// for the whole message limit). checkHeader has made sure that need and
// expect are within the message limit.
func (d *Decoder) realloc(need int, expect int64) {
	st := d.st
	limit := d.cfg.maxMessageSize()
	if !st.large && d.cfg.Large != nil && max(int64(need), expect) > d.cfg.smallMessageMax() && limit <= maxInt {
		if b := d.cfg.Large.Get(int(limit)); b != nil {
			b = append(b[:0], st.buf...)
			st.small = nil
			if cap(st.buf) <= keepSmall {
				st.small = st.buf[:0] // kept for the stream's next message
			}
			st.buf, st.large = b, true
			if need <= cap(b) {
				return
			}
			// A Large that returned less than asked: grow on the heap.
		} else if need <= cap(st.buf) {
			return // none available: stay in the heap buffer while it fits
		}
	}
	c := max(2*cap(st.buf), need, minMessageBuffer)
	if c > SmallMessageMax && need <= SmallMessageMax {
		c = SmallMessageMax // the most a pooled stream keeps
	}
	if int64(c) > limit {
		c = int(max(limit, int64(need)))
	}
	nb := make([]byte, len(st.buf), c)
	copy(nb, st.buf)
	if st.large {
		d.cfg.Large.Put(st.buf)
		st.large = false
	}
	st.buf = nb
}

// freeStream gives back the message in progress: the budget its bytes
// held, its buffer, and the stream itself.
func (d *Decoder) freeStream() {
	st := d.st
	d.st = nil
	if b := d.cfg.Budget; b != nil && len(st.buf) > 0 {
		b.give(len(st.buf))
	}
	if st.large {
		d.cfg.Large.Put(st.buf)
		st.buf, st.small, st.large = st.small, nil, false
	}
	if cap(st.buf) > SmallMessageMax {
		st.buf = nil // grown on the heap for a large message: not kept
	}
	*st = stream{buf: st.buf[:0]}
	streamPool.Put(st)
}

// Detach hands the buffer of the message the last Decode call returned to
// the caller, when p is that message's whole payload and the buffer came
// from DecoderConfig.Large: the caller then owns it (p stays valid) and
// gives it back with Large.Put once done; the decoder no longer counts its
// bytes against the Budget. It lets a server write a large message it
// received without copying it. ok is false, and nothing changes, in every
// other case.
func (d *Decoder) Detach(p []byte) (buf []byte, ok bool) {
	st := d.st
	if st == nil || !st.large || d.op != 0 || st.left != 0 || len(p) == 0 ||
		len(p) != len(st.buf) || &p[0] != &st.buf[0] {
		return nil, false
	}
	buf = st.buf
	if b := d.cfg.Budget; b != nil {
		b.give(len(buf))
	}
	st.buf, st.small, st.large = st.small, nil, false
	return buf, true
}
