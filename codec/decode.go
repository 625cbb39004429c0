package codec

import "github.com/gobwas/ws"

// DecoderConfig is shared, read-only, by all decoders of a server.
type DecoderConfig struct {
	// MaxMessageSize is the most payload bytes one data message may carry,
	// whole, after reassembly. <= 0 means DefaultMaxMessageSize. Control
	// frames are bounded by MaxControlPayload instead.
	MaxMessageSize int64
	// FromServer makes the decoder read frames a server sent, which must be
	// unmasked, instead of client frames, which must be masked (§5.1).
	FromServer bool
	// Budget, when set, bounds the bytes that all the decoders sharing it
	// hold in messages still in progress. A decoder whose next bytes would
	// pass it fails with ErrOverBudget (close 1013). nil: no server-wide
	// bound (each message is still bounded by MaxMessageSize).
	Budget *Budget
	// Large, when set, supplies the buffer of a message that grows past
	// SmallMessageMax, sized for the whole MaxMessageSize. It is meant for
	// memory committed only as it is written (an anonymous mapping), so the
	// reservation costs nothing until the bytes arrive. nil: such messages
	// grow a heap buffer by doubling, never past MaxMessageSize.
	Large LargeBuffers

	smallMax int // tests: SmallMessageMax when 0
}

func (c *DecoderConfig) smallMessageMax() int64 {
	if c.smallMax > 0 {
		return int64(c.smallMax)
	}
	return SmallMessageMax
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
	ErrOverBudget,
}

// Decoder reassembles messages from a stream of frames (RFC 6455 §5). Its
// zero value is not ready; call Init.
//
// One lives inside every connection, so it is small (24 bytes on 64-bit
// platforms) and an idle decoder holds no buffer: the state of a message in
// progress (its buffer, and where the decoder is inside a frame whose
// payload is still arriving) is taken from a pool when such a message
// starts and given back after it is delivered.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	cfg      *DecoderConfig
	st       *stream       // message in progress; nil unless needed
	op       OpCode        // opcode of the message in progress; 0 if none
	rsv      uint8         // RSV bits of that message's first frame
	allowRsv uint8         // RSV bits a negotiated extension owns
	utf8     UTF8Validator // UTF-8 state of the text message in progress
	err      uint8         // 1 + index in decodeErrors of the error that stopped d; 0 if none
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

// InMessage reports whether a data message is in progress: fragments of it
// were consumed, or part of its only frame.
func (d *Decoder) InMessage() bool { return d.op != 0 }

// Buffered is the number of payload bytes of the message in progress that
// the decoder holds (0 when none is).
func (d *Decoder) Buffered() int {
	if d.st == nil || d.op == 0 {
		return 0
	}
	return len(d.st.buf)
}

// Recycle gives the message buffer back unless a message is in progress.
// Call it after handling a message so an idle connection holds no buffer
// (Decode also does it on its next call).
func (d *Decoder) Recycle() {
	if d.op == 0 && d.st != nil {
		d.freeStream()
	}
}

// Release drops all state and buffers; call it when the connection closes.
// Afterwards d is as Init left it, with the same config.
func (d *Decoder) Release() {
	if d.st != nil {
		d.freeStream()
	}
	*d = Decoder{cfg: d.cfg}
}

// Decode consumes at most one frame, or the part of one that has arrived,
// from the start of p and says:
//
//   - (Message{}, 0, nil): need more bytes. Nothing was consumed and p was
//     not modified.
//   - (Message{Kind: KindNone}, n, nil) with n > 0: n bytes were consumed
//     and no message is complete yet: a fragment of a message, or the start
//     or a further part of a data frame whose payload is still arriving
//     (its bytes so far are unmasked, UTF-8-checked if text, and copied to
//     the message buffer). Call Decode again on p[n:].
//   - (msg, n, nil) with msg.Kind != KindNone: a whole message or a control
//     frame ended within the n bytes. Masked payloads that arrived whole are
//     unmasked in place in p. The payload of a one-frame message that
//     arrived whole, or of a control frame, aliases p; that of any other
//     message is the message buffer (or p, when only its last fragment
//     carried bytes). Payload and Reason stay valid until the next call to
//     Decode, Recycle or Release.
//   - (Message{}, 0, err) with err an *Error: a protocol violation (or
//     ErrOverBudget); close the connection with err's Code. The decoder
//     keeps returning err.
//
// Every check that the header allows is made before any of the payload is
// taken, and nothing is allocated on a declared length: the message buffer
// grows only by payload bytes that have arrived. A data frame whose payload
// has not all arrived is consumed as far as it has, so its bytes are held
// once, in the message buffer, and a text frame fails with ErrInvalidUTF8
// as soon as its invalid bytes arrive. Control frames wait until whole (at
// most 125 bytes); they may arrive between fragments and are returned
// without disturbing the message in progress.
//
// Decode does not stop after a close frame; the caller stops reading.
func (d *Decoder) Decode(p []byte) (Message, int, error) {
	if d.err != 0 {
		return Message{}, 0, decodeErrors[d.err-1]
	}
	if st := d.st; st != nil {
		if st.left > 0 {
			return d.resume(p)
		}
		if d.op == 0 {
			// The previous call returned a message held in the buffer;
			// its payload is no longer needed.
			d.freeStream()
		}
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
		if h.OpCode.IsControl() {
			return Message{}, 0, nil // at most 125 bytes: wait for all of it
		}
		return d.startFrame(&h, p, n)
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
	if h.Length > limit-int64(d.Buffered()) {
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

// data handles a text, binary or continuation frame, whole in p, whose
// header passed checkHeader.
func (d *Decoder) data(h *Header, payload []byte, n int) (Message, int, error) {
	if h.OpCode != OpContinuation {
		if h.Fin {
			// A whole message in one frame: no state, no copy.
			if h.OpCode == OpText && h.Rsv == 0 && !ValidUTF8(payload) {
				return d.fail(ErrInvalidUTF8)
			}
			return Message{Kind: dataKind(h.OpCode), Payload: payload, Rsv: h.Rsv}, n, nil
		}
		d.begin(h)
	}
	if d.checkText() && !d.utf8.Write(payload) {
		return d.fail(ErrInvalidUTF8)
	}
	if !h.Fin {
		if len(payload) > 0 {
			dst, err := d.grow(len(payload), int64(len(payload)))
			if err != nil {
				return d.fail(err)
			}
			copy(dst, payload)
		}
		return Message{}, n, nil
	}
	if d.Buffered() == 0 {
		// Every earlier fragment was empty: the last one is the message.
		return d.finish(payload, n)
	}
	if len(payload) > 0 {
		dst, err := d.grow(len(payload), int64(len(payload)))
		if err != nil {
			return d.fail(err)
		}
		copy(dst, payload)
	}
	return d.finish(d.st.buf, n)
}

// begin starts a data message with the first frame's header.
func (d *Decoder) begin(h *Header) {
	d.op, d.rsv = h.OpCode, h.Rsv
	d.utf8.Reset()
}

// checkText reports whether the message in progress is text the decoder
// checks (an extension's encoded payload is checked after decoding).
func (d *Decoder) checkText() bool { return d.op == OpText && d.rsv == 0 }

// finish returns the message in progress, whose payload is p, after the
// last n bytes of its last frame were consumed. The buffer stays until the
// next Decode or Recycle: p may be it.
func (d *Decoder) finish(p []byte, n int) (Message, int, error) {
	if d.checkText() && !d.utf8.Complete() {
		return d.fail(ErrInvalidUTF8)
	}
	msg := Message{Kind: dataKind(d.op), Payload: p, Rsv: d.rsv}
	d.op, d.rsv = 0, 0
	return msg, n, nil
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
	if d.st != nil {
		d.freeStream()
	}
	d.op, d.rsv = 0, 0
	return Message{}, 0, err
}
