package wstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"syscall"
	"time"

	"github.com/gobwas/ws"
)

// Frame is one frame as read from the wire. Payload is unmasked; Masked and
// Mask tell whether and how it was masked.
type Frame struct {
	Op      ws.OpCode
	Fin     bool
	Rsv     byte // RSV1 = 4, RSV2 = 2, RSV3 = 1
	Masked  bool
	Mask    [4]byte
	Payload []byte
}

// CloseError is returned by ReadMessage when a close frame arrives. Code is
// 1005 (no status) when the close frame has an empty payload.
type CloseError struct {
	Code   uint16
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("wstest: close frame %d %q", e.Code, e.Reason)
}

// EncodeFrame returns the bytes of one frame. Only the low 4 bits of op and
// the low 3 bits of rsv are used; any opcode, flag and payload size is
// accepted as is. masked=true masks a copy of payload with a random key.
func EncodeFrame(op ws.OpCode, fin bool, rsv byte, masked bool, payload []byte) []byte {
	b := make([]byte, 0, ws.MaxHeaderSize+len(payload))
	b0 := (rsv&7)<<4 | byte(op)&0x0f
	if fin {
		b0 |= 0x80
	}
	var b1 byte
	if masked {
		b1 = 0x80
	}
	n := len(payload)
	switch {
	case n < 126:
		b = append(b, b0, b1|byte(n))
	case n <= 0xffff:
		b = append(b, b0, b1|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, b0, b1|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !masked {
		return append(b, payload...)
	}
	mask := ws.NewMask()
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, payload...)
	ws.Cipher(b[start:], mask, 0)
	return b
}

// CloseBody returns a close frame payload: empty when code is 0, else the
// code in network order followed by reason. Nothing is validated.
func CloseBody(code uint16, reason string) []byte {
	if code == 0 {
		return nil
	}
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// WriteRaw writes p as is.
func (c *Client) WriteRaw(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.WriteTimeout > 0 {
		err := c.Conn.SetWriteDeadline(time.Now().Add(c.WriteTimeout))
		if err != nil {
			return err
		}
	}
	_, err := c.Conn.Write(p)
	return err
}

// WriteDribble writes p in pieces of chunk bytes (1 when chunk <= 0), with a
// pause after each piece but the last.
func (c *Client) WriteDribble(p []byte, chunk int, pause time.Duration) error {
	chunk = max(chunk, 1)
	for len(p) > 0 {
		n := min(chunk, len(p))
		err := c.WriteRaw(p[:n])
		if err != nil {
			return err
		}
		p = p[n:]
		if len(p) > 0 {
			time.Sleep(pause)
		}
	}
	return nil
}

// WriteFrame writes one frame with no RSV bits, masked with a random key.
func (c *Client) WriteFrame(op ws.OpCode, fin bool, payload []byte) error {
	return c.WriteFrameOpts(op, fin, 0, true, payload)
}

// WriteFrameOpts writes one frame with explicit RSV bits (0..7, RSV1 = 4) and
// masking (masked=false sends an unmasked frame), in one write.
func (c *Client) WriteFrameOpts(op ws.OpCode, fin bool, rsv byte, masked bool, payload []byte) error {
	if op == ws.OpClose {
		c.closeSent.Store(true)
	}
	return c.WriteRaw(EncodeFrame(op, fin, rsv, masked, payload))
}

// WriteText writes s as one masked text frame.
func (c *Client) WriteText(s string) error {
	return c.WriteFrame(ws.OpText, true, []byte(s))
}

// WriteBinary writes p as one masked binary frame.
func (c *Client) WriteBinary(p []byte) error {
	return c.WriteFrame(ws.OpBinary, true, p)
}

// WriteClose writes a masked close frame; code 0 sends an empty payload.
func (c *Client) WriteClose(code uint16, reason string) error {
	return c.WriteFrame(ws.OpClose, true, CloseBody(code, reason))
}

// ReadFrame reads one frame within d (default DefaultTimeout when d <= 0).
// It reports the frame as sent, whatever its bits; a masked payload is
// unmasked.
func (c *Client) ReadFrame(d time.Duration) (Frame, error) {
	err := c.Conn.SetReadDeadline(time.Now().Add(orDefault(d)))
	if err != nil {
		return Frame{}, err
	}
	return c.readFrame()
}

// ReadFrameBuf is ReadFrame with the payload read into buf's storage
// (from buf[:0]; grown as bytes arrive when it is too small), for a reader
// that takes many frames and reuses one buffer: pass the previous frame's
// Payload back once done with it.
func (c *Client) ReadFrameBuf(d time.Duration, buf []byte) (Frame, error) {
	err := c.Conn.SetReadDeadline(time.Now().Add(orDefault(d)))
	if err != nil {
		return Frame{}, err
	}
	return c.readFrameInto(buf[:0])
}

// ReadNextFrame is ReadFrameBuf without setting a read deadline: the
// connection's deadline, if any, applies (a reader that waits on many
// connections sets none, and saves a timer update per frame).
func (c *Client) ReadNextFrame(buf []byte) (Frame, error) { return c.readFrameInto(buf[:0]) }

func (c *Client) readFrame() (Frame, error) { return c.readFrameInto(nil) }

// readFrameInto reads one frame, appending its payload to p. The buffer
// grows as bytes arrive, never on the declared length.
func (c *Client) readFrameInto(p []byte) (Frame, error) {
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return Frame{}, err
	}
	f := Frame{
		Op:     h.OpCode,
		Fin:    h.Fin,
		Rsv:    h.Rsv,
		Masked: h.Masked,
		Mask:   h.Mask,
	}
	start := len(p)
	for left := h.Length; left > 0; {
		if len(p) == cap(p) {
			p = slices.Grow(p, int(min(left, int64(max(cap(p), 512)))))
		}
		room := int(min(int64(cap(p)-len(p)), left))
		n, err := c.br.Read(p[len(p) : len(p)+room])
		p = p[:len(p)+n]
		left -= int64(n)
		if errors.Is(err, io.EOF) && left > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil && left > 0 {
			return f, err
		}
	}
	f.Payload = p[start:]
	if f.Masked {
		ws.Cipher(f.Payload, f.Mask, 0)
	}
	return f, nil
}

// ReadMessage reads frames within d (default DefaultTimeout when d <= 0)
// until a complete text or binary message, reassembling fragments. Pings met
// meanwhile are answered with pongs, pongs are skipped, and a close frame
// ends it with a *CloseError (no close frame is sent back: use WriteClose or
// ExpectClose). A frame a server must not send (masked, RSV bits set, an
// unknown opcode, a fragmented or over-125-byte control frame, a
// continuation out of place) is an error.
func (c *Client) ReadMessage(d time.Duration) (op ws.OpCode, payload []byte, err error) {
	err = c.Conn.SetReadDeadline(time.Now().Add(orDefault(d)))
	if err != nil {
		return 0, nil, err
	}
	started := false
	for {
		f, err := c.readFrame()
		if err != nil {
			return 0, nil, err
		}
		err = checkServerFrame(f)
		if err != nil {
			return 0, nil, err
		}
		switch f.Op {
		case ws.OpPing:
			err = c.WriteFrame(ws.OpPong, true, f.Payload)
			if err != nil {
				return 0, nil, err
			}
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			return 0, nil, closeError(f.Payload)
		case ws.OpContinuation:
			if !started {
				return 0, nil, errors.New("wstest: continuation frame outside a message")
			}
		default: // text or binary
			if started {
				return 0, nil, fmt.Errorf(
					"wstest: %s frame inside a fragmented message",
					opName(f.Op),
				)
			}
			started, op = true, f.Op
		}
		payload = append(payload, f.Payload...)
		if f.Fin {
			return op, payload, nil
		}
	}
}

func checkServerFrame(f Frame) error {
	switch {
	case f.Masked:
		return fmt.Errorf("wstest: masked %s frame from the server", opName(f.Op))
	case f.Rsv != 0:
		return fmt.Errorf("wstest: %s frame with RSV bits %03b", opName(f.Op), f.Rsv)
	case f.Op.IsReserved():
		return fmt.Errorf("wstest: frame with reserved opcode %#x", byte(f.Op))
	case f.Op.IsControl() && (!f.Fin || len(f.Payload) > 125):
		return fmt.Errorf(
			"wstest: %s frame with fin=%v and %d bytes",
			opName(f.Op),
			f.Fin,
			len(f.Payload),
		)
	}
	return nil
}

func opName(op ws.OpCode) string {
	switch op {
	case ws.OpContinuation:
		return "continuation"
	case ws.OpText:
		return "text"
	case ws.OpBinary:
		return "binary"
	case ws.OpClose:
		return "close"
	case ws.OpPing:
		return "ping"
	case ws.OpPong:
		return "pong"
	}
	return fmt.Sprintf("opcode %#x", byte(op))
}

func closeError(p []byte) error {
	if len(p) == 1 {
		return errors.New("wstest: close frame with a 1-byte payload")
	}
	code, reason := ws.ParseCloseFrameData(p)
	if len(p) == 0 {
		code = ws.StatusNoStatusRcvd
	}
	return &CloseError{Code: uint16(code), Reason: reason}
}

// ExpectClose reads within d (default DefaultTimeout when d <= 0) until a
// close frame, skipping any other frame, and returns its code (1005 for an
// empty payload) and reason. Unless a close frame was already written, it
// answers with a close frame echoing the code (write errors are ignored: the
// server may have closed already). It then checks that the server closes the
// TCP connection before d runs out.
func (c *Client) ExpectClose(d time.Duration) (code uint16, reason string, err error) {
	d = orDefault(d)
	deadline := time.Now().Add(d)
	err = c.Conn.SetReadDeadline(deadline)
	if err != nil {
		return 0, "", err
	}
	for {
		f, err := c.readFrame()
		if err != nil {
			return 0, "", fmt.Errorf("wstest: waiting for a close frame: %w", err)
		}
		if f.Op != ws.OpClose {
			continue
		}
		var ce *CloseError
		err = closeError(f.Payload)
		if !errors.As(err, &ce) {
			return 0, "", err
		}
		if !c.closeSent.Load() {
			_ = c.WriteFrame(ws.OpClose, true, f.Payload[:min(len(f.Payload), 2)])
		}
		return ce.Code, ce.Reason, c.expectEOF(d)
	}
}

// ExpectEOF reads and discards until the server closes the TCP connection
// (EOF or reset), or fails after d (default DefaultTimeout when d <= 0).
func (c *Client) ExpectEOF(d time.Duration) error {
	d = orDefault(d)
	err := c.Conn.SetReadDeadline(time.Now().Add(d))
	if err != nil {
		return err
	}
	return c.expectEOF(d)
}

// expectEOF waits under the read deadline already set; d is for the message.
func (c *Client) expectEOF(d time.Duration) error {
	n, err := io.Copy(io.Discard, c.br)
	switch {
	case err == nil, errors.Is(err, syscall.ECONNRESET):
		return nil
	case isTimeout(err):
		return fmt.Errorf(
			"wstest: server did not close the connection within %v (%d bytes discarded)",
			d,
			n,
		)
	}
	return err
}

// ExpectSilence checks that nothing arrives within d and the connection stays
// open. It consumes nothing.
func (c *Client) ExpectSilence(d time.Duration) error {
	err := c.Conn.SetReadDeadline(time.Now().Add(d))
	if err != nil {
		return err
	}
	_, err = c.br.Peek(1)
	switch {
	case err == nil:
		p, _ := c.br.Peek(c.br.Buffered())
		return fmt.Errorf("wstest: unexpected bytes %q", p)
	case isTimeout(err):
		return nil
	}
	return fmt.Errorf("wstest: connection ended: %w", err)
}
