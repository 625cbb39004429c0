package codec

import (
	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
)

// DecoderConfig is shared, read-only, by all decoders of a server.
type DecoderConfig struct {
	// MaxMessageSize is the most payload bytes one data message may carry,
	// whole, after reassembly. <= 0 means DefaultMaxMessageSize. Control
	// frames are bounded by MaxControlPayload instead.
	MaxMessageSize int64
	// FromServer makes the decoder read frames a server sent, which must be
	// unmasked, instead of client frames, which must be masked (§5.1).
	FromServer bool
}

func (c *DecoderConfig) maxMessageSize() int64 {
	if c.MaxMessageSize <= 0 {
		return DefaultMaxMessageSize
	}
	return c.MaxMessageSize
}

// Message is one complete data message or one control frame.
type Message struct {
	Kind Kind
	// Payload is the payload of a text, binary, ping or pong message, and
	// the whole payload of a close frame.
	Payload []byte
	// Code is the close code of a close frame; CloseNoStatus when its
	// payload was empty.
	Code CloseCode
	// Reason is the close reason of a close frame, valid UTF-8.
	Reason []byte
	// Rsv holds the RSV bits of a data message's first frame. It is nonzero
	// only when SetExtensionRSV allowed them; the payload is then encoded by
	// that extension (e.g. compressed) and a text payload has not been
	// checked for UTF-8: the extension must check it once decoded.
	Rsv uint8
}

// fragmentPool holds reassembly buffers. It is the codec's own pool so its
// buffers are sized by fragmented messages only.
var fragmentPool bytebufferpool.Pool

// minFragmentBuffer is the first capacity a reassembly buffer grows to,
// so small fragments do not regrow it several times.
const minFragmentBuffer = 512

// decodeErrors lists the errors Decode can return; Decoder.err indexes it so
// the decoder keeps its sticky error in one byte.
var decodeErrors = [...]*Error{
	ErrReservedOpcode,
	ErrReservedBits,
	ErrUnmaskedFrame,
	ErrMaskedFrame,
	ErrLengthOverflow,
	ErrNonMinimalLength,
	ErrControlTooLong,
	ErrControlFragmented,
	ErrUnexpectedCont,
	ErrExpectedCont,
	ErrFrameTooBig,
	ErrMessageTooBig,
	ErrInvalidUTF8,
	ErrCloseTooShort,
	ErrInvalidCloseCode,
	ErrInvalidCloseReason,
}

// Decoder reassembles messages from a stream of frames (RFC 6455 §5). Its
// zero value is not ready; call Init.
//
// One lives inside every connection, so it is small (24 bytes on 64-bit
// platforms) and an idle decoder holds no buffer: the reassembly buffer is
// taken from a pool when a fragmented message starts and given back after
// it is delivered.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	cfg      *DecoderConfig
	buf      *bytebufferpool.ByteBuffer // reassembly buffer; nil unless needed
	op       OpCode                     // opcode of the fragmented message in progress; 0 if none
	rsv      uint8                      // RSV bits of that message's first frame
	allowRsv uint8                      // RSV bits a negotiated extension owns
	utf8     UTF8Validator              // UTF-8 state of the text message in progress
	err      uint8                      // 1 + index in decodeErrors of the error that stopped d; 0 if none
}

// Init makes d ready to decode with cfg, which it keeps a reference to.
func (d *Decoder) Init(cfg *DecoderConfig) {
	d.Release()
	d.cfg = cfg
}

// SetExtensionRSV sets the RSV bits a negotiated extension owns (0b100 for
// permessage-deflate, RFC 7692). Such bits are allowed on the first frame of
// a data message only, as RFC 7692 §6 requires for RSV1; anywhere else they
// are ErrReservedBits. The default is 0: no RSV bit allowed (§5.2).
func (d *Decoder) SetExtensionRSV(bits uint8) { d.allowRsv = bits & 0b111 }

// InMessage reports whether a fragmented message is in progress.
func (d *Decoder) InMessage() bool { return d.op != 0 }

// Recycle gives the reassembly buffer back to the pool unless a fragmented
// message is in progress. Call it after handling a message so an idle
// connection holds no buffer (Decode also does it on its next call).
func (d *Decoder) Recycle() {
	if d.op == 0 && d.buf != nil {
		d.putBuffer()
	}
}

// Release drops all state and buffers; call it when the connection closes.
// Afterwards d is as Init left it, with the same config.
func (d *Decoder) Release() {
	if d.buf != nil {
		d.putBuffer()
	}
	*d = Decoder{cfg: d.cfg}
}

// Decode consumes at most one frame from the start of p and says:
//
//   - (Message{}, 0, nil): need more bytes. Nothing was consumed and p was
//     not modified.
//   - (Message{Kind: KindNone}, n, nil) with n > 0: a fragment of a message
//     not complete yet was consumed (its payload copied to the reassembly
//     buffer). Call Decode again on p[n:].
//   - (msg, n, nil) with msg.Kind != KindNone: a whole message or a control
//     frame took n bytes. Masked payloads are unmasked in place in p. The
//     payload of a one-frame message or control frame aliases p; that of a
//     fragmented message is the reassembly buffer (or p, when only its last
//     fragment carried bytes). Payload and Reason stay valid until the next
//     call to Decode, Recycle or Release.
//   - (Message{}, 0, err) with err an *Error: a protocol violation; close the
//     connection with err's Code. The decoder keeps returning err.
//
// Every check that the header allows is made before waiting for the
// payload, and nothing is allocated on a declared length: the reassembly
// buffer grows only by payload bytes that have arrived. Control frames may
// arrive between fragments; they are returned without disturbing the
// message in progress. Text is checked for UTF-8 fragment by fragment, so an
// invalid message fails on its first invalid fragment.
//
// Decode does not stop after a close frame; the caller stops reading.
func (d *Decoder) Decode(p []byte) (Message, int, error) {
	if d.err != 0 {
		return Message{}, 0, decodeErrors[d.err-1]
	}
	if d.op == 0 && d.buf != nil {
		// The previous call returned a reassembled message; its payload
		// is no longer needed.
		d.putBuffer()
	}
	h, n, err := ParseHeader(p)
	if err != nil {
		return d.fail(err)
	}
	if n == 0 {
		return Message{}, 0, nil
	}
	if err := d.checkHeader(&h); err != nil {
		return d.fail(err)
	}
	if h.Length > int64(len(p)-n) {
		return Message{}, 0, nil
	}
	end := n + int(h.Length)
	// Cap the payload at its end so appending to it cannot overwrite the
	// frames that follow in p.
	payload := p[n:end:end]
	if h.Masked {
		ws.Cipher(payload, h.Mask, 0)
	}
	if h.OpCode.IsControl() {
		return d.control(h.OpCode, payload, end)
	}
	return d.data(&h, payload, end)
}

// checkHeader makes the checks that need the decoder's config and state
// (ParseHeader made those the header alone decides).
func (d *Decoder) checkHeader(h *Header) error {
	if h.Rsv != 0 && (h.Rsv&^d.allowRsv != 0 || h.OpCode.IsControl() || h.OpCode == OpContinuation) {
		return ErrReservedBits
	}
	if h.Masked == d.cfg.FromServer {
		// §5.1: clients mask every frame, servers none.
		if h.Masked {
			return ErrMaskedFrame
		}
		return ErrUnmaskedFrame
	}
	switch h.OpCode {
	case OpContinuation:
		if d.op == 0 {
			return ErrUnexpectedCont
		}
	case OpText, OpBinary:
		if d.op != 0 {
			return ErrExpectedCont
		}
	default:
		return nil // control frames: ParseHeader bounded them to 125 bytes
	}
	limit := d.cfg.maxMessageSize()
	if h.Length > limit {
		return ErrFrameTooBig
	}
	if h.Length > limit-d.buffered() {
		return ErrMessageTooBig
	}
	return nil
}

// control returns a ping, pong or close frame.
func (d *Decoder) control(op OpCode, payload []byte, n int) (Message, int, error) {
	msg := Message{Kind: controlKind(op), Payload: payload}
	if op == OpClose {
		code, reason, err := ParseClosePayload(payload)
		if err != nil {
			return d.fail(err)
		}
		msg.Code, msg.Reason = code, reason
	}
	return msg, n, nil
}

// data handles a text, binary or continuation frame whose header passed
// checkHeader.
func (d *Decoder) data(h *Header, payload []byte, n int) (Message, int, error) {
	if h.OpCode != OpContinuation {
		if h.Fin {
			// A whole message in one frame: no state, no copy.
			if h.OpCode == OpText && h.Rsv == 0 && !ValidUTF8(payload) {
				return d.fail(ErrInvalidUTF8)
			}
			return Message{Kind: dataKind(h.OpCode), Payload: payload, Rsv: h.Rsv}, n, nil
		}
		d.op, d.rsv = h.OpCode, h.Rsv
		d.utf8.Reset()
	}
	checkText := d.op == OpText && d.rsv == 0
	if checkText && !d.utf8.Write(payload) {
		return d.fail(ErrInvalidUTF8)
	}
	if !h.Fin {
		d.appendFragment(payload)
		return Message{}, n, nil
	}
	if checkText && !d.utf8.Complete() {
		return d.fail(ErrInvalidUTF8)
	}
	msg := Message{Kind: dataKind(d.op), Rsv: d.rsv}
	if d.buffered() == 0 {
		// Every earlier fragment was empty: the last one is the message.
		msg.Payload = payload
	} else {
		d.appendFragment(payload)
		msg.Payload = d.buf.B
	}
	// The buffer stays until the next Decode or Recycle: msg.Payload is it.
	d.op, d.rsv = 0, 0
	return msg, n, nil
}

// buffered is the payload size of the fragments reassembled so far.
func (d *Decoder) buffered() int64 {
	if d.buf == nil {
		return 0
	}
	return int64(len(d.buf.B))
}

// appendFragment copies a fragment's payload to the reassembly buffer,
// taking one from the pool first if needed. The buffer grows by doubling,
// but never past the message limit, which checkHeader has already made sure
// the payload fits in.
func (d *Decoder) appendFragment(p []byte) {
	if len(p) == 0 {
		return
	}
	limit := d.cfg.maxMessageSize()
	if d.buf == nil {
		d.buf = fragmentPool.Get()
		if int64(cap(d.buf.B)) > limit {
			// Grown by a decoder with a larger limit: drop it so that this
			// decoder's memory stays within its own limit.
			d.buf.B = nil
		}
	}
	b := d.buf.B
	if need := len(b) + len(p); need > cap(b) {
		c := max(2*cap(b), need, minFragmentBuffer)
		if int64(c) > limit {
			c = int(limit) // >= need: checkHeader bounded need by limit
		}
		nb := make([]byte, len(b), c)
		copy(nb, b)
		b = nb
	}
	d.buf.B = append(b, p...)
}

func (d *Decoder) putBuffer() {
	fragmentPool.Put(d.buf)
	d.buf = nil
}

// fail stops the decoder with err, which is one of decodeErrors, and drops
// the message in progress.
func (d *Decoder) fail(err error) (Message, int, error) {
	for i, e := range decodeErrors {
		if e == err {
			d.err = uint8(i + 1)
			break
		}
	}
	if d.buf != nil {
		d.putBuffer()
	}
	d.op, d.rsv = 0, 0
	return Message{}, 0, err
}
