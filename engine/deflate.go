package engine

import (
	"math/bits"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// permessage-deflate (RFC 7692) in the engine. See docs/architecture.md,
// "permessage-deflate", and internal/pmd for the layer itself.
//
// Per connection it costs one byte inside Conn (Conn.pmd) and 24 bits of
// Conn.closed (Conn does not grow) and, only under context takeover and
// from the first compressed message in either direction, one block of
// exactly the negotiated windows (their fill counts inside), cut from a
// per-loop slab and numbered in Conn.closed (deflate_takeover.go). No flate state is ever
// kept: compressors and decompressors are borrowed per message from
// internal/pmd's pools.

// DefaultDeflateThreshold is the default Config.DeflateThreshold: at flate
// level 1 a message under 128 bytes is Huffman-coded without matches and
// shrinks little if at all (see internal/pmd).
const DefaultDeflateThreshold = 128

// DefaultDeflateLevel is the default Config.DeflateLevel: flate level 1,
// best speed, the level of gws's and gorilla's compressors without context
// takeover.
const DefaultDeflateLevel = pmd.Level

// Conn.pmd packs what was agreed in one byte; 0 means not negotiated. Its
// low nibble is the inbound window's bits under client context takeover
// (9..15), or pmdNoInbound; its high nibble the outbound window's bits
// under server context takeover (8..15), or, without it, 0 (messages
// compressed alone) or the client's server_max_window_bits below 15 less
// pmdLimitBias (1..7: messages compressed alone, back-references limited
// to 2^bits).
const (
	pmdNoInbound uint8 = 1 // negotiated, client_no_context_takeover
	pmdLimitBias uint8 = 7
)

func (c *Conn) pmdIn() uint8 {
	if b := c.pmd & 0x0f; b > pmdNoInbound {
		return b
	}
	return 0
}

// pmdOut is the outbound window's bits under server context takeover, or 0.
func (c *Conn) pmdOut() uint8 {
	if b := c.pmd >> 4; b > pmdLimitBias {
		return b
	}
	return 0
}

// pmdOutLimit is the client's server_max_window_bits when below 15 (each
// message compressed alone within that window), or 0.
func (c *Conn) pmdOutLimit() uint8 {
	if b := c.pmd >> 4; b != 0 && b <= pmdLimitBias {
		return b + pmdLimitBias
	}
	return 0
}

// setDeflate records on c, before OnOpen, that p was agreed: the decoder
// accepts RSV1 on a data message's first frame, and the window sizes are
// kept as bit counts (0: no context takeover that way).
func (c *Conn) setDeflate(p *codec.DeflateParams) {
	in := windowBits(p.InboundWindow())
	if in == 0 {
		in = pmdNoInbound
	}
	out := windowBits(p.OutboundWindow())
	if out == 0 && p.ServerMaxWindowBits != 0 && p.ServerMaxWindowBits < codec.DeflateMaxWindowBits {
		out = max(p.ServerMaxWindowBits, codec.DeflateMinWindowBits) - pmdLimitBias
	}
	c.pmd = in | out<<4
	c.dec.SetExtensionRSV(0b100)
}

func windowBits(size int) uint8 {
	if size <= 0 {
		return 0
	}
	return uint8(bits.Len(uint(size)) - 1)
}

// Deflate reports whether permessage-deflate was negotiated on c.
func (c *Conn) Deflate() bool { return c.pmd != 0 }

// SharedDeflate reports whether c takes the compressed prepared frames of
// its server: a message compressed alone, without a dictionary, within a
// window of 2^Loop.SharedDeflateBits() bytes (codec.NewPreparedFrameDeflate
// with internal/pmd's output), which many connections can share. That is
// every connection that negotiated permessage-deflate with an outbound
// window at least that large: with server_no_context_takeover, or under
// context takeover (the message then enters the client's history without
// entering the server's; the server's next message on c is compressed
// without history), and not one whose client asked for a smaller
// server_max_window_bits. The hub compresses a broadcast once for all of
// them. It does not change for the life of the connection.
func (c *Conn) SharedDeflate() bool {
	r := c.deflateReach()
	return r != 0 && r >= c.loop.srv.sharedDeflateBits()
}

// deflateReach is the largest window, in bits, that a message compressed
// alone may use on c: 15 with server_no_context_takeover and no limit, the
// outbound window under context takeover, the client's
// server_max_window_bits when it set one; 0 without deflate.
func (c *Conn) deflateReach() uint8 {
	switch {
	case c.pmd == 0:
		return 0
	case c.pmdOut() != 0:
		return c.pmdOut()
	case c.pmdOutLimit() != 0:
		return c.pmdOutLimit()
	}
	return codec.DeflateMaxWindowBits
}

// takesDeflated reports whether c may be sent f, a prepared frame with
// reserved bits: only RSV1 (permessage-deflate), within c's window.
func (c *Conn) takesDeflated(f *codec.PreparedFrame) bool {
	return f.RSV() == 0b100 && f.WindowBits() <= int(c.deflateReach()) && c.pmd != 0
}

// SharedDeflateBits is the window, in bits, of the compressed prepared
// frames that this server's connections share (Conn.SharedDeflate): the
// policy's ServerMaxWindowBits (12 by default) under
// codec.DeflateContextTakeover, 15 otherwise.
func (h Loop) SharedDeflateBits() int { return int(h.l.srv.sharedDeflateBits()) }

func (s *Server) sharedDeflateBits() uint8 {
	if s.cfg.Deflate.Mode != codec.DeflateContextTakeover {
		return codec.DeflateMaxWindowBits
	}
	b := s.cfg.Deflate.ServerMaxWindowBits
	if b == 0 {
		b = codec.DefaultDeflateWindowBits
	}
	return uint8(min(max(b, codec.DeflateMinWindowBits), codec.DeflateMaxWindowBits))
}

// forgetOutbound empties c's outbound history after a message that
// bypassed it (a shared compressed frame): the client's history now ends
// with bytes the server's window lacks, so the next message on c is
// compressed without history, which is valid whatever the client holds.
// Loop only.
func (l *loop) forgetOutbound(c *Conn) {
	if c.pmdOut() == 0 || c.pmdBlockNum() == 0 {
		return
	}
	if w, ok := l.windows(c); ok {
		w.resetOut()
	}
}

// DeflateThreshold returns the server's Config.DeflateThreshold: the size
// below which a message is sent uncompressed.
func (h Loop) DeflateThreshold() int { return h.l.srv.cfg.DeflateThreshold }

// DeflateLevel returns the server's Config.DeflateLevel: the flate level of
// the messages it compresses, 1 to 9.
func (h Loop) DeflateLevel() int { return h.l.srv.cfg.DeflateLevel }

// inflate returns the plaintext of a compressed data message in the loop's
// scratch buffer, valid until the next message on this loop (OnMessage's
// data is valid only during the call). On an error it fails c and returns
// false: 1009 past MaxMessageSize (checked while inflating, so a bomb costs
// at most the limit), 1013 when the inflated bytes would pass the
// server-wide inbound budget (they are charged to it until l.inflateDone
// after OnMessage), 1007 for corrupt data or invalid UTF-8 in text.
func (l *loop) inflate(c *Conn, msg codec.Message) ([]byte, bool) {
	var dict []byte
	takeover := c.pmdIn() != 0
	var w pmdWindows
	if takeover {
		var ok bool
		if w, ok = l.windows(c); !ok {
			l.windowsRefused(c)
			return nil, false
		}
		dict = w.inbound()
	}
	limit, budget := int(l.srv.cfg.MaxMessageSize), l.srv.decCfg.Budget
	byBudget := false
	if a := budget.Available(); a < int64(limit) {
		limit, byBudget = int(a), true
	}
	out, err := pmd.Inflate(l.zin[:0], msg.Payload, dict, limit)
	l.keepInflate(out)
	if err == nil && !budget.Take(len(out)) {
		err, byBudget = pmd.ErrTooLarge, true
	}
	switch err {
	case nil:
		l.inflateHeld = len(out)
	case pmd.ErrTooLarge:
		if byBudget {
			l.stats.budgetRefused.Add(1)
			l.failProtocol(c, codec.ErrOverBudget)
			return nil, false
		}
		l.stats.inflateTooBig.Add(1)
		l.failProtocol(c, codec.ErrMessageTooBig)
		return nil, false
	default:
		l.failProtocol(c, codec.ErrBadCompressed)
		return nil, false
	}
	if msg.Kind == codec.KindText && !codec.ValidUTF8(out) {
		l.inflateDone()
		l.failProtocol(c, codec.ErrInvalidUTF8)
		return nil, false
	}
	if takeover {
		w.slideIn(out)
	}
	l.stats.inflated.Add(1)
	l.stats.inflatedIn.Add(uint64(len(msg.Payload)))
	l.stats.inflatedOut.Add(uint64(len(out)))
	return out, true
}

// inflateDone gives back to the inbound budget the inflated message that
// inflate charged, once it has been delivered or dropped.
func (l *loop) inflateDone() {
	if l.inflateHeld != 0 {
		l.srv.decCfg.Budget.Give(l.inflateHeld)
		l.inflateHeld = 0
	}
}

// scratchKeep is the most capacity a loop's (de)compression scratch keeps
// between messages; a larger one (a large message) is dropped after use.
const scratchKeep = 256 << 10

func (l *loop) keepInflate(b []byte) {
	if cap(b) > scratchKeep {
		l.zin = nil
		return
	}
	l.zin = b[:0]
}

// writeDeflated sends data message p compressed when that makes it
// smaller, else plain. Under context takeover the outbound window primes
// the compressor and takes p only once p went out compressed: the client's
// inflater never sees a plain message.
func (l *loop) writeDeflated(c *Conn, op codec.OpCode, p []byte) error {
	var dict []byte
	takeover := c.pmdOut() != 0
	var w pmdWindows
	if takeover {
		var ok bool
		if w, ok = l.windows(c); !ok {
			l.windowsRefused(c)
			return ErrClosed
		}
		dict = w.outbound()
	}
	var z []byte
	switch level := l.srv.cfg.DeflateLevel; {
	case takeover: // no reference past the window announced, into dict or p
		z = pmd.DeflateWithin(l.zout[:0], p, dict, int(c.pmdOut()), level)
	case c.pmdOutLimit() != 0:
		z = pmd.DeflateWithin(l.zout[:0], p, nil, int(c.pmdOutLimit()), level)
	default:
		z = pmd.DeflateLevel(l.zout[:0], p, nil, level)
	}
	defer func() {
		if cap(z) > scratchKeep {
			l.zout = nil
		} else {
			l.zout = z[:0]
		}
	}()
	if len(z) >= len(p) {
		return l.writePlain(c, op, p)
	}
	n := codec.PutHeader(l.hdr[:], true, 0b100, op, int64(len(z)), nil)
	if err := l.admit(c, n+len(z)); err != nil {
		return err
	}
	var err error
	if n+len(z) <= copyFrameMax {
		b := append(append(l.out[:0], l.hdr[:n]...), z...)
		l.out = b[:0]
		err = l.put(c, b, nil)
	} else {
		err = l.put(c, l.hdr[:n], z)
	}
	if err = l.wrote(c, n+len(z), err); err != nil {
		return err
	}
	if takeover && c.pmdBlockNum() != 0 { // not released by a close meanwhile
		w.slideOut(p)
	}
	l.stats.deflated.Add(1)
	l.stats.deflatedIn.Add(uint64(len(p)))
	l.stats.deflatedOut.Add(uint64(len(z)))
	return nil
}

// appendUpgrade appends the 101 for resp, with the permessage-deflate
// answer when p is not nil. It allocates nothing once dst has room.
func appendUpgrade(dst, key []byte, resp *UpgradeResponse, p *codec.DeflateParams) []byte {
	dst = codec.AppendUpgradeResponse(dst, key, resp.Protocol, resp.Header)
	if p == nil {
		return dst
	}
	dst = dst[:len(dst)-2] // the blank line
	dst = append(dst, "Sec-WebSocket-Extensions: "...)
	dst = p.AppendExtension(dst)
	return append(dst, "\r\n\r\n"...)
}

// setsExtensions reports whether resp adds a Sec-WebSocket-Extensions
// header: only the engine answers extensions (it must implement what it
// announces), so such a response is refused.
func setsExtensions(resp *UpgradeResponse) bool {
	for _, f := range resp.Header {
		if equalFoldASCII(f.Name, "Sec-WebSocket-Extensions") {
			return true
		}
	}
	return false
}
