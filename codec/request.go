package codec

import (
	"bytes"
	"iter"
)

// Request is a parsed HTTP/1.1 request head, filled by ParseRequest.
//
// Every []byte field aliases the head passed to ParseRequest and is valid as
// long as those bytes are unchanged: copy what must outlive the buffer. The
// accessors rescan the head on each call and allocate nothing. A Request may
// be reused for the next request; ParseRequest resets it.
type Request struct {
	Method   []byte
	URI      []byte // request-target as sent
	Path     []byte // URI up to '?' (raw, not unescaped)
	RawQuery []byte // after '?', without it; nil if none
	Host     []byte // nil if absent
	Origin   []byte // first Origin header; nil if absent
	Key      []byte // Sec-WebSocket-Key, trimmed; nil if absent
	Version  []byte // Sec-WebSocket-Version, trimmed; nil if absent

	head     []byte // the whole head
	hdrStart int    // offset of the first header line; 0 if not parsed
	flags    reqFlags
}

type reqFlags uint8

const (
	reqHasHost          reqFlags = 1 << iota // a Host line was seen
	reqUpgradeWebSocket                      // an Upgrade line holds "websocket"
	reqConnUpgrade                           // a Connection line holds "upgrade"
	reqHasKey                                // a Sec-WebSocket-Key line was seen
	reqDupKey                                // more than one Sec-WebSocket-Key line
	reqHasVersion                            // a Sec-WebSocket-Version line was seen
	reqDupVersion                            // more than one Sec-WebSocket-Version line
)

// Head returns the whole head as passed to ParseRequest, or nil when r holds
// no parsed request.
func (r *Request) Head() []byte { return r.head }

// nextHeader returns the header line at offset off of the (validated) head
// and the offset of the line after it; next < 0 when off is at the blank
// line or outside the header block.
func (r *Request) nextHeader(off int) (name, value []byte, next int) {
	head := r.head
	if off <= 0 || off >= len(head) || head[off] == '\r' {
		return nil, nil, -1
	}
	line := head[off:]
	c := bytes.IndexByte(line, ':')
	e := bytes.IndexByte(line, '\r')
	if c < 0 || e < c {
		return nil, nil, -1 // the head changed since ParseRequest
	}
	return line[:c], httpTrimOWS(line[c+1 : e]), off + e + 2
}

// Header returns the value of the first header line named name (ASCII case
// insensitive), trimmed of optional whitespace; nil if there is none. An
// empty value is a non-nil empty slice. It allocates nothing.
func (r *Request) Header(name string) []byte {
	for off := r.hdrStart; ; {
		n, v, next := r.nextHeader(off)
		if next < 0 {
			return nil
		}
		if httpEqualFold(n, name) {
			return v
		}
		off = next
	}
}

// HeaderValues yields the trimmed value of every header line named name
// (ASCII case insensitive), in order, without splitting on commas.
func (r *Request) HeaderValues(name string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) { r.eachValue(name, yield) }
}

func (r *Request) eachValue(name string, yield func([]byte) bool) {
	for off := r.hdrStart; ; {
		n, v, next := r.nextHeader(off)
		if next < 0 {
			return
		}
		if httpEqualFold(n, name) && !yield(v) {
			return
		}
		off = next
	}
}

// eachElem yields every non-empty element of the comma lists in the header
// lines named name. Commas inside quoted-strings do not split.
func (r *Request) eachElem(name string, yield func([]byte) bool) {
	for off := r.hdrStart; ; {
		n, v, next := r.nextHeader(off)
		if next < 0 {
			return
		}
		if httpEqualFold(n, name) {
			for len(v) > 0 {
				var e []byte
				e, v = httpNextElem(v)
				if len(e) > 0 && !yield(e) {
					return
				}
			}
		}
		off = next
	}
}

// Protocols yields each subprotocol the client requested, in order: the
// elements of the Sec-WebSocket-Protocol comma lists, over possibly several
// lines, trimmed, empty elements skipped.
func (r *Request) Protocols() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) { r.eachElem("Sec-WebSocket-Protocol", yield) }
}

// HasProtocol reports whether the client offered subprotocol p. Subprotocol
// names compare case-sensitively.
func (r *Request) HasProtocol(p string) bool {
	for off := r.hdrStart; ; {
		n, v, next := r.nextHeader(off)
		if next < 0 {
			return false
		}
		if httpEqualFold(n, "Sec-WebSocket-Protocol") {
			for len(v) > 0 {
				var e []byte
				e, v = httpNextElem(v)
				if string(e) == p && len(e) > 0 {
					return true
				}
			}
		}
		off = next
	}
}

// Extensions yields each extension offer the client made, in order, one per
// element of the Sec-WebSocket-Extensions comma lists, parameters included
// (for example "permessage-deflate; client_max_window_bits"), trimmed.
func (r *Request) Extensions() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) { r.eachElem("Sec-WebSocket-Extensions", yield) }
}

// Cookies yields each cookie name and value from every Cookie header line
// ("a=1; b=2"), in order. Names and values are trimmed of whitespace, a value
// in double quotes is yielded without them, and a pair without '=' yields an
// empty value. Pairs with an empty name are skipped.
func (r *Request) Cookies() iter.Seq2[[]byte, []byte] {
	return func(yield func(name, value []byte) bool) { r.eachCookie(yield) }
}

func (r *Request) eachCookie(yield func(name, value []byte) bool) {
	for off := r.hdrStart; ; {
		n, v, next := r.nextHeader(off)
		if next < 0 {
			return
		}
		if httpEqualFold(n, "Cookie") {
			for len(v) > 0 {
				var pair []byte
				if i := bytes.IndexByte(v, ';'); i >= 0 {
					pair, v = v[:i], v[i+1:]
				} else {
					pair, v = v, nil
				}
				name, value := pair, pair[len(pair):]
				if i := bytes.IndexByte(pair, '='); i >= 0 {
					name, value = pair[:i], pair[i+1:]
				}
				name, value = httpTrimOWS(name), httpTrimOWS(value)
				if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
					value = value[1 : len(value)-1]
				}
				if len(name) > 0 && !yield(name, value) {
					return
				}
			}
		}
		off = next
	}
}

// Cookie returns the value of the first cookie named name (case-sensitive),
// as Cookies yields it, and whether there is one.
func (r *Request) Cookie(name string) ([]byte, bool) {
	var (
		val   []byte
		found bool
	)
	r.eachCookie(func(n, v []byte) bool {
		if string(n) == name {
			val, found = v, true
			return false
		}
		return true
	})
	return val, found
}
