package codec

import "strconv"

// permessage-deflate negotiation (RFC 7692 §5, §7.1): pure parsing of the
// client's offers and the server's answer. Compression itself lives in
// internal/pmd.

// DeflateMode is a server's permessage-deflate policy.
type DeflateMode uint8

const (
	// DeflateOff declines every permessage-deflate offer (the default).
	DeflateOff DeflateMode = iota
	// DeflateNoContextTakeover accepts an offer and answers
	// server_no_context_takeover and client_no_context_takeover: every
	// message is compressed alone, so a connection keeps no flate state
	// between messages (+0 bytes per idle connection) and a broadcast can be
	// compressed once for every receiver.
	DeflateNoContextTakeover
	// DeflateContextTakeover accepts an offer and keeps, per connection and
	// direction, a dictionary of the last bytes sent or received (bounded by
	// the policy's window bits) to prime pooled (de)compressors, unless the
	// client asks for no context takeover.
	DeflateContextTakeover
)

// Window bits bounds (RFC 7692 §7.1.2) and the default history kept per
// connection and direction under context takeover: 12 bits, 4 KiB, like
// lxzan/gws: enough for the repeated keys and values of JSON messages,
// small next to the 32 KiB a full window would cost each connection.
const (
	DeflateMinWindowBits     = 8
	DeflateMaxWindowBits     = 15
	DefaultDeflateWindowBits = 12
)

// DeflatePolicy is the server side of the negotiation. The zero value
// declines every offer.
type DeflatePolicy struct {
	Mode DeflateMode

	// ServerMaxWindowBits bounds, under context takeover, the history the
	// server keeps per connection to prime its compressor: 2^bits bytes.
	// 0 means DefaultDeflateWindowBits; values are clamped to 8..15. It is
	// not announced: the pooled compressors may refer up to 32 KiB back
	// within a message. An offer that demands server_max_window_bits below
	// 15 is accepted with server_no_context_takeover added (RFC 7692
	// §7.1.1.1 lets the server add it): each message is then compressed
	// alone with its back-references limited to the client's window.
	ServerMaxWindowBits int

	// ClientMaxWindowBits bounds, under context takeover, the client's
	// window and so the history the server keeps per connection to inflate
	// the client's messages. A client that offers client_max_window_bits is
	// answered with the smaller of its value and this one; a client that
	// cannot be limited is answered client_no_context_takeover unless this
	// is 15. 0 means DefaultDeflateWindowBits; values are clamped to 8..15.
	ClientMaxWindowBits int
}

func clampWindowBits(b int) uint8 {
	switch {
	case b == 0:
		return DefaultDeflateWindowBits
	case b < DeflateMinWindowBits:
		return DeflateMinWindowBits
	case b > DeflateMaxWindowBits:
		return DeflateMaxWindowBits
	}
	return uint8(b)
}

// DeflateOffer is one parsed permessage-deflate offer (RFC 7692 §7.1).
// A window-bits field is 0 when the parameter is absent; ClientMaxWindowBits
// is 15 for a client_max_window_bits sent without a value.
type DeflateOffer struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	ServerMaxWindowBits     uint8
	ClientMaxWindowBits     uint8
}

// DeflateParams is what the server agreed to, as announced in its answer.
type DeflateParams struct {
	// ServerNoContextTakeover: the server compresses each message alone.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover: the client compresses each message alone, so
	// the server inflates each without a dictionary.
	ClientNoContextTakeover bool
	// ServerMaxWindowBits is the value announced for server_max_window_bits:
	// the offer's (8..15), 0 when the offer did not hold the parameter.
	// Below 15 it comes with ServerNoContextTakeover, and the server's
	// back-references reach at most 2^bits bytes.
	ServerMaxWindowBits uint8
	// ClientMaxWindowBits is the value announced for client_max_window_bits,
	// 0 when not announced (the client's window is then 15 bits).
	ClientMaxWindowBits uint8
	// ServerWindowBits is the history the server keeps to prime its
	// compressor (the policy's bound); 0 with ServerNoContextTakeover. Not
	// announced.
	ServerWindowBits uint8
}

// OutboundWindow returns the bytes of history a connection keeps to
// compress its next message: 0 with server_no_context_takeover.
func (p *DeflateParams) OutboundWindow() int {
	if p.ServerNoContextTakeover || p.ServerWindowBits == 0 {
		return 0
	}
	return 1 << p.ServerWindowBits
}

// InboundWindow returns the bytes of history a connection keeps to inflate
// the client's next message: 0 with client_no_context_takeover, else the
// client's window. A window of 8 bits counts as 9: zlib, which most clients
// use, silently compresses with 9 bits when asked for 8.
func (p *DeflateParams) InboundWindow() int {
	if p.ClientNoContextTakeover {
		return 0
	}
	bits := p.ClientMaxWindowBits
	if bits == 0 {
		bits = DeflateMaxWindowBits
	}
	return 1 << max(bits, 9)
}

// AppendExtension appends the answer for the Sec-WebSocket-Extensions header
// of the 101, for example "permessage-deflate; server_no_context_takeover;
// client_max_window_bits=12".
func (p *DeflateParams) AppendExtension(dst []byte) []byte {
	dst = append(dst, "permessage-deflate"...)
	if p.ServerNoContextTakeover {
		dst = append(dst, "; server_no_context_takeover"...)
	}
	if p.ClientNoContextTakeover {
		dst = append(dst, "; client_no_context_takeover"...)
	}
	if p.ServerMaxWindowBits != 0 {
		dst = append(dst, "; server_max_window_bits="...)
		dst = strconv.AppendUint(dst, uint64(p.ServerMaxWindowBits), 10)
	}
	if p.ClientMaxWindowBits != 0 {
		dst = append(dst, "; client_max_window_bits="...)
		dst = strconv.AppendUint(dst, uint64(p.ClientMaxWindowBits), 10)
	}
	return dst
}

// String returns the answer AppendExtension writes. It allocates.
func (p DeflateParams) String() string { return string(p.AppendExtension(nil)) }

// ParseDeflateOffer parses one element of a Sec-WebSocket-Extensions list
// (as Request.Extensions yields it). ok is false when the element is not a
// permessage-deflate offer, or is one the server must decline: an unknown
// parameter, a parameter given twice, a value where none is allowed, a
// missing or invalid window-bits value (RFC 7692 §7.1: "8" to "15", no
// leading zero, optionally quoted). It allocates nothing.
func ParseDeflateOffer(ext []byte) (o DeflateOffer, ok bool) {
	name, rest := pmdNextParam(ext)
	if !httpEqualFold(name, "permessage-deflate") {
		return DeflateOffer{}, false
	}
	var seen uint8
	for rest != nil {
		var param []byte
		param, rest = pmdNextParam(rest)
		key, val, hasVal := param, []byte(nil), false
		for i, c := range param {
			if c == '=' {
				key, val, hasVal = httpTrimOWS(param[:i]), httpTrimOWS(param[i+1:]), true
				break
			}
		}
		var bit uint8
		switch {
		case httpEqualFold(key, "server_no_context_takeover"):
			bit = 1
			o.ServerNoContextTakeover = true
		case httpEqualFold(key, "client_no_context_takeover"):
			bit = 2
			o.ClientNoContextTakeover = true
		case httpEqualFold(key, "server_max_window_bits"):
			bit = 4
			if !hasVal {
				return DeflateOffer{}, false
			}
			if o.ServerMaxWindowBits = pmdWindowBits(val); o.ServerMaxWindowBits == 0 {
				return DeflateOffer{}, false
			}
		case httpEqualFold(key, "client_max_window_bits"):
			bit = 8
			o.ClientMaxWindowBits = DeflateMaxWindowBits
			if hasVal {
				if o.ClientMaxWindowBits = pmdWindowBits(val); o.ClientMaxWindowBits == 0 {
					return DeflateOffer{}, false
				}
			}
		default:
			return DeflateOffer{}, false
		}
		if seen&bit != 0 || hasVal && bit <= 2 {
			return DeflateOffer{}, false
		}
		seen |= bit
	}
	return o, true
}

// pmdNextParam splits the first ';'-separated part off p, trimmed; rest is
// nil after the last part. A ';' inside a quoted-string does not split.
func pmdNextParam(p []byte) (part, rest []byte) { return httpSplitQuoted(p, ';') }

// pmdWindowBits parses a window-bits value, token or quoted-string ("8" to
// "15", no leading zero, no escapes); 0 if invalid.
func pmdWindowBits(v []byte) uint8 {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	switch {
	case len(v) == 1 && (v[0] == '8' || v[0] == '9'):
		return v[0] - '0'
	case len(v) == 2 && v[0] == '1' && '0' <= v[1] && v[1] <= '5':
		return 10 + v[1] - '0'
	}
	return 0
}

// Accept answers one offer under the policy: ok is false when the policy
// declines it (mode off, or an offer the server cannot honour). It
// allocates nothing.
func (pol *DeflatePolicy) Accept(o DeflateOffer) (p DeflateParams, ok bool) {
	switch pol.Mode {
	case DeflateNoContextTakeover, DeflateContextTakeover:
	default:
		return DeflateParams{}, false
	}
	if o.ServerMaxWindowBits != 0 {
		p.ServerMaxWindowBits = o.ServerMaxWindowBits
		// A limited window and a dictionary the pooled compressors could
		// reach past it do not mix: compress each message alone.
		p.ServerNoContextTakeover = o.ServerMaxWindowBits < DeflateMaxWindowBits
	}
	if pol.Mode == DeflateNoContextTakeover {
		p.ServerNoContextTakeover = true
		p.ClientNoContextTakeover = true
		return p, true
	}
	p.ServerNoContextTakeover = p.ServerNoContextTakeover || o.ServerNoContextTakeover
	if !p.ServerNoContextTakeover {
		p.ServerWindowBits = clampWindowBits(pol.ServerMaxWindowBits)
	}
	limit := clampWindowBits(pol.ClientMaxWindowBits)
	switch {
	case o.ClientNoContextTakeover:
		p.ClientNoContextTakeover = true // it said it will not take over: no dictionary needed
	case o.ClientMaxWindowBits != 0:
		p.ClientMaxWindowBits = min(o.ClientMaxWindowBits, limit)
	case limit < DeflateMaxWindowBits:
		p.ClientNoContextTakeover = true // its window cannot be bounded: no history
	}
	return p, true
}

// NegotiateDeflate answers the first permessage-deflate offer in r's
// Sec-WebSocket-Extensions headers, in order, that parses and that the
// policy accepts (RFC 7692 §5: the server accepts at most one). ok is false
// when there is none: the 101 then carries no extension, and the handshake
// goes on. It allocates nothing.
func (pol *DeflatePolicy) NegotiateDeflate(r *Request) (p DeflateParams, ok bool) {
	if pol.Mode == DeflateOff {
		return DeflateParams{}, false
	}
	r.eachElem("Sec-WebSocket-Extensions", func(ext []byte) bool {
		o, parsed := ParseDeflateOffer(ext)
		if parsed {
			p, ok = pol.Accept(o)
		}
		return !ok
	})
	return p, ok
}
