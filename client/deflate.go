package client

import (
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// permessage-deflate on the client side, with the server's layer
// (internal/pmd): compressors and decompressors are borrowed per message
// from global pools; a session keeps only the dictionaries of the
// directions that keep context (allocated at the first message that way).

// pmdState is a session's permessage-deflate: its windows (size 0: no
// context takeover that way).
type pmdState struct {
	in, out pmd.Window
	// outBits is the window the server bounded ours to, below 15 bits:
	// every message is compressed alone within it (0: not bounded).
	outBits uint8
}

// setDeflate records what the 101 agreed. Our outbound window: none with
// client_no_context_takeover or a client_max_window_bits below 15 (then
// each message is compressed alone within that window), else 32 KiB.
// Inbound: 0 with server_no_context_takeover, else the server's window.
func (c *Conn) setDeflate(p *codec.DeflateParams) {
	st := &pmdState{}
	if b := p.ClientMaxWindowBits; b != 0 && b < codec.DeflateMaxWindowBits {
		st.outBits = b
	} else if !p.ClientNoContextTakeover {
		st.out.Init(1 << codec.DeflateMaxWindowBits)
	}
	if !p.ServerNoContextTakeover {
		b := p.ServerMaxWindowBits
		if b == 0 {
			b = codec.DeflateMaxWindowBits
		}
		st.in.Init(1 << max(b, 9))
	}
	c.pmd = st
	c.dec.SetExtensionRSV(0b100)
}

func (c *Conn) releaseDeflate() {
	if c.pmd != nil {
		c.pmd.in.Release()
		c.pmd.out.Release()
		c.pmd = nil
	}
}

// inflate returns a compressed message's plaintext in the loop's scratch
// buffer (valid during OnMessage). 1009 past MaxMessageSize (checked while
// inflating), 1007 for corrupt data or invalid UTF-8.
func (l *loop) inflate(c *Conn, msg codec.Message) ([]byte, bool) {
	if c.pmd == nil {
		l.failProtocol(c, codec.ErrReservedBits)
		return nil, false
	}
	out, err := pmd.Inflate(l.zin[:0], msg.Payload, c.pmd.in.Bytes(), int(c.cfg.decCfg.MaxMessageSize))
	if cap(out) > keepScratch {
		l.zin = nil
	} else {
		l.zin = out[:0]
	}
	switch err {
	case nil:
	case pmd.ErrTooLarge:
		l.failProtocol(c, codec.ErrMessageTooBig)
		return nil, false
	default:
		l.failProtocol(c, codec.ErrBadCompressed)
		return nil, false
	}
	if msg.Kind == codec.KindText && !codec.ValidUTF8(out) {
		l.failProtocol(c, codec.ErrInvalidUTF8)
		return nil, false
	}
	if c.pmd.in.Size() > 0 {
		c.pmd.in.Append(out)
	}
	return out, true
}
