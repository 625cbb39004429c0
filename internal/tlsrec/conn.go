package tlsrec

// Handshake message types a server may see after the handshake (RFC 8446 §4).
const (
	msgNewSessionTicket = 4
	msgKeyUpdate        = 24
)

// Conn is the record-layer state of one TLS 1.3 connection after the
// handshake. On the server's side (Init) In opens the client's records and
// Out protects the server's; on the client's side (InitClient, client.go)
// the other way round.
type Conn struct {
	In, Out Direction
	// updatePending is set when the peer's KeyUpdate asked for ours.
	updatePending bool
	// closeSent is set once close_notify (or a fatal alert) went out;
	// nothing more may be sent.
	closeSent bool
	// client: this is the client's side (it accepts NewSessionTicket).
	client bool
}

// Event is what reading a record produced besides application data.
type Event uint8

const (
	// EventNone: application data (possibly none) was appended.
	EventNone Event = iota
	// EventCloseNotify: the peer sent close_notify; it sends nothing more.
	EventCloseNotify
)

// Read opens one complete record rec (header included) from the peer and
// acts on it: application data is appended to dst; a KeyUpdate moves In
// to the next key (and, when the peer asked for it, UpdatePending reports
// true until WriteKeyUpdate answers); close_notify returns
// EventCloseNotify; user_canceled is ignored. in is the Cipher to open
// with, refreshed for In as needed. An error is either an Alert to send
// the peer before closing, or a PeerAlert the peer sent.
func (c *Conn) Read(in *Cipher, rec, dst []byte) ([]byte, Event, error) {
	start := len(dst)
	typ, out, err := Open(&c.In, in, dst, rec)
	if err != nil {
		return dst, EventNone, err
	}
	body := out[start:]
	switch typ {
	case TypeApplicationData:
		return out, EventNone, nil
	case TypeAlert:
		if len(body) != 2 {
			return dst, EventNone, AlertDecodeError
		}
		switch a := Alert(body[1]); a {
		case AlertCloseNotify:
			return dst, EventCloseNotify, nil
		case AlertUserCanceled:
			return dst, EventNone, nil // a close_notify follows (§6.1)
		default:
			return dst, EventNone, PeerAlert(a)
		}
	case TypeHandshake:
		return dst, EventNone, c.handshake(body)
	default:
		return dst, EventNone, AlertUnexpectedMessage
	}
}

// handshake acts on the handshake messages of one record. A server after
// the handshake accepts KeyUpdate only (it never asks for post-handshake
// client authentication); each message must be whole within the record,
// and a KeyUpdate must end it (§5.1: messages must not span key changes).
func (c *Conn) handshake(p []byte) error {
	if len(p) == 0 {
		return AlertUnexpectedMessage
	}
	for len(p) > 0 {
		if len(p) < 4 {
			return AlertUnexpectedMessage
		}
		typ := p[0]
		n := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		if len(p)-4 < n {
			return AlertUnexpectedMessage // fragmented: not a KeyUpdate
		}
		body := p[4 : 4+n]
		p = p[4+n:]
		if typ == msgNewSessionTicket && c.client {
			continue // ignored (client.go)
		}
		if typ != msgKeyUpdate {
			return AlertUnexpectedMessage
		}
		if n != 1 {
			return AlertDecodeError
		}
		if body[0] > 1 {
			return AlertIllegalParameter
		}
		if len(p) > 0 {
			return AlertUnexpectedMessage
		}
		if err := c.In.Update(); err != nil {
			return AlertInternalError
		}
		if body[0] == 1 {
			c.updatePending = true
		}
	}
	return nil
}

// UpdatePending reports whether the peer requested a KeyUpdate that
// WriteKeyUpdate has not answered yet. RFC 8446 §4.6.3: it must go out
// before the next application data.
func (c *Conn) UpdatePending() bool { return c.updatePending }

// WriteKeyUpdate appends a KeyUpdate message (request is true to ask the
// peer to update too) protected under Out's current key, then moves Out
// to the next key. It answers a pending request.
func (c *Conn) WriteKeyUpdate(out *Cipher, dst []byte, request bool) ([]byte, error) {
	var r byte
	if request {
		r = 1
	}
	msg := [5]byte{msgKeyUpdate, 0, 0, 1, r}
	dst, err := Seal(&c.Out, out, dst, TypeHandshake, msg[:], nil)
	if err != nil {
		return dst, err
	}
	c.updatePending = false
	if err := c.Out.Update(); err != nil {
		return dst, err
	}
	return dst, nil
}

// Write appends records carrying application data a then b. A pending
// KeyUpdate request is answered first.
func (c *Conn) Write(out *Cipher, dst, a, b []byte) ([]byte, error) {
	if c.closeSent {
		return dst, errClosed
	}
	if c.updatePending {
		var err error
		if dst, err = c.WriteKeyUpdate(out, dst, false); err != nil {
			return dst, err
		}
	}
	return Seal(&c.Out, out, dst, TypeApplicationData, a, b)
}

// WriteAlert appends alert a (close_notify, or a fatal alert when a is
// anything else) and marks the connection closed for writing; later
// calls append nothing.
func (c *Conn) WriteAlert(out *Cipher, dst []byte, a Alert) ([]byte, error) {
	if c.closeSent {
		return dst, nil
	}
	c.closeSent = true
	level := byte(2) // fatal
	if a == AlertCloseNotify || a == AlertUserCanceled {
		level = 1 // warning
	}
	msg := [2]byte{level, byte(a)}
	return Seal(&c.Out, out, dst, TypeAlert, msg[:], nil)
}

// CloseSent reports whether close_notify or a fatal alert went out.
func (c *Conn) CloseSent() bool { return c.closeSent }

type closedError struct{}

func (closedError) Error() string { return "tlsrec: write after close_notify" }

var errClosed error = closedError{}
