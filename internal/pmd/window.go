package pmd

// Window is the sliding dictionary of one direction of one connection under
// context takeover: the last Size bytes of plaintext that went through the
// compressor (outbound) or came out of the inflater (inbound). It is the
// only per-connection state of this package. The zero Window has size 0,
// keeps nothing and costs no buffer.
//
// A Window is used by one goroutine at a time (the connection's loop).
type Window struct {
	b    []byte // the history, at most size bytes; allocated with cap size
	size int
}

// Init sets the window's size in bytes (0: no context takeover, up to
// 32 KiB) and drops any history. It allocates nothing: the buffer is
// allocated, once, at the first Append.
func (w *Window) Init(size int) {
	w.size = min(max(size, 0), 1<<15)
	w.b = nil
}

// Size returns the window's size in bytes.
func (w *Window) Size() int { return w.size }

// Bytes returns the history to pass as dict to Deflate or Inflate; nil when
// there is none. It is valid until the next Append, Init or Release.
func (w *Window) Bytes() []byte { return w.b }

// Append slides msg, a whole message's plaintext, into the window, keeping
// the last Size bytes of the history.
func (w *Window) Append(msg []byte) {
	if w.size == 0 || len(msg) == 0 {
		return
	}
	if w.b == nil {
		w.b = make([]byte, 0, w.size)
	}
	w.b = Slide(w.b, msg)
}

// Slide returns hist with msg, a whole message's plaintext, slid into it:
// the last cap(hist) bytes of hist followed by msg, in hist's own array.
// It is Append for a caller that keeps the window's array and length
// itself (the engine keeps both directions of a connection in one
// allocation). It never allocates; a hist with cap 0 stays empty.
func Slide(hist, msg []byte) []byte {
	size := cap(hist)
	if len(msg) >= size {
		return append(hist[:0], msg[len(msg)-size:]...)
	}
	if drop := len(hist) + len(msg) - size; drop > 0 {
		hist = hist[:copy(hist, hist[drop:])]
	}
	return append(hist, msg...)
}

// Reset forgets the history but keeps the buffer.
func (w *Window) Reset() { w.b = w.b[:0] }

// Release forgets the history and drops the buffer (the connection closed).
func (w *Window) Release() { w.b = nil }
