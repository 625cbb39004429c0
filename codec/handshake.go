package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
)

// DefaultMaxHeadSize is the cap on a request head (request line, header
// lines and the final blank line) that HeadEnd applies when given no cap.
const DefaultMaxHeadSize = 8 << 10

// httpHeadTerminator ends a request head: the CRLF of the last header line
// followed by the empty line.
var httpHeadTerminator = []byte("\r\n\r\n")

// HeadEnd finds the end of an HTTP request head in p, which holds every byte
// received so far from the start of the request.
//
// from is a hint: the bytes before it were already scanned by an earlier call
// on the same (grown) input without finding the end; pass the scanned value
// that call returned, or 0. HeadEnd looks again at the last 3 bytes before
// from, so a CRLFCRLF split across calls is still found.
//
// When the head is complete HeadEnd returns end > 0, the length of the head
// including its final CRLFCRLF; bytes behind it (frames a client sent in the
// same packet) are never part of the head. Otherwise it returns end == 0 and
// scanned, how far it looked, to pass as from next time (need more). Only
// CRLFCRLF ends a head; a bare LF LF does not.
//
// maxHead caps the head; maxHead <= 0 means DefaultMaxHeadSize. If p holds
// more than maxHead bytes and no head ends within the first maxHead of them,
// HeadEnd returns ErrHeadTooLarge (431), whether or not an end follows later.
// HeadEnd allocates nothing and never modifies p.
func HeadEnd(p []byte, from, maxHead int) (end, scanned int, err error) {
	if maxHead <= 0 {
		maxHead = DefaultMaxHeadSize
	}
	limit := min(len(p), maxHead)
	start := max(from-(len(httpHeadTerminator)-1), 0)
	if start < limit {
		if i := bytes.Index(p[start:limit], httpHeadTerminator); i >= 0 {
			end = start + i + len(httpHeadTerminator)
			return end, end, nil
		}
	}
	if len(p) > maxHead {
		return 0, limit, ErrHeadTooLarge
	}
	return 0, len(p), nil
}

// ParseRequest parses head, exactly the bytes HeadEnd delimited (request
// line, header lines and the final CRLFCRLF), into r, resetting r first.
//
// It checks the message structure only: a request line "METHOD SP
// request-target SP HTTP/1.1 CRLF", header lines "name: value CRLF" whose
// name is a token and whose value holds no control characters other than
// HTAB, no obs-fold, no bare CR or LF, no whitespace before the colon and at
// most one Host line. Any other structure gives ErrMalformedRequest; an HTTP
// version other than 1.1 gives ErrHTTPVersion. It does not check the
// WebSocket rules (see ValidateUpgrade), so plain requests such as
// "GET /healthz" parse too.
//
// Parsing allocates nothing: every []byte in r aliases head, and headers
// nobody asks for are never copied. On error r is left zero.
func ParseRequest(head []byte, r *Request) error {
	if err := parseRequest(head, r); err != nil {
		*r = Request{}
		return err
	}
	return nil
}

func parseRequest(head []byte, r *Request) error {
	*r = Request{}
	n := len(head)
	if n < len("A / HTTP/1.1\r\n\r\n") || !bytes.HasSuffix(head, httpHeadTerminator) {
		return ErrMalformedRequest
	}

	// Request line: method SP request-target SP HTTP-version CRLF.
	i := 0
	for i < n && httpTchar[head[i]] {
		i++
	}
	if i == 0 || i >= n || head[i] != ' ' {
		return ErrMalformedRequest
	}
	r.Method = head[:i]
	i++
	us := i
	for i < n && httpTargetChar[head[i]] {
		i++
	}
	if i == us || i >= n || head[i] != ' ' {
		return ErrMalformedRequest
	}
	r.URI = head[us:i]
	if q := bytes.IndexByte(r.URI, '?'); q >= 0 {
		r.Path, r.RawQuery = r.URI[:q], r.URI[q+1:]
	} else {
		r.Path = r.URI
	}
	i++
	vs := i
	for i < n && httpTchar[head[i]] || i < n && head[i] == '/' {
		i++
	}
	if i+1 >= n || head[i] != '\r' || head[i+1] != '\n' {
		return ErrMalformedRequest
	}
	if err := httpCheckVersion(head[vs:i]); err != nil {
		return err
	}
	i += 2
	r.head = head
	r.hdrStart = i

	// Header lines up to the blank line, which must be the last 2 bytes.
	for {
		if i >= n {
			return ErrMalformedRequest
		}
		if head[i] == '\r' {
			if i+2 != n {
				return ErrMalformedRequest
			}
			return nil
		}
		ns := i
		for i < n && httpTchar[head[i]] {
			i++
		}
		// An empty name covers obs-fold (a line starting with SP or HTAB)
		// and whitespace before the colon.
		if i == ns || i >= n || head[i] != ':' {
			return ErrMalformedRequest
		}
		name := head[ns:i]
		i++
		for i < n && (head[i] == ' ' || head[i] == '\t') {
			i++
		}
		vs := i
		i = httpSkipValue(head, i)
		if i+1 >= n || head[i] != '\r' || head[i+1] != '\n' {
			return ErrMalformedRequest
		}
		ve := i
		for ve > vs && (head[ve-1] == ' ' || head[ve-1] == '\t') {
			ve--
		}
		if err := r.noteHeader(name, head[vs:ve]); err != nil {
			return err
		}
		i += 2
	}
}

// httpSkipValue returns the offset of the first byte at or after i in b that
// cannot be part of a field value (a control other than HTAB, or DEL), or
// len(b). It checks 8 bytes at a time while none of them needs a closer look.
func httpSkipValue(b []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		del := x ^ (0x7f * ones)
		// Any byte below 0x20 (hasless, exact for existence) or equal to 0x7f.
		if ((x-0x20*ones)&^x|(del-ones)&^del)&highs != 0 {
			break
		}
		i += 8
	}
	for i < len(b) && httpValueChar[b[i]] {
		i++
	}
	return i
}

// httpCheckVersion accepts exactly "HTTP/1.1"; any other well-formed
// HTTP-version is ErrHTTPVersion, anything else ErrMalformedRequest.
func httpCheckVersion(v []byte) error {
	if string(v) == "HTTP/1.1" {
		return nil
	}
	if len(v) == 8 && string(v[:5]) == "HTTP/" && httpIsDigit(v[5]) && v[6] == '.' && httpIsDigit(v[7]) {
		return ErrHTTPVersion
	}
	return ErrMalformedRequest
}

func httpIsDigit(c byte) bool { return '0' <= c && c <= '9' }

// noteHeader records the header lines the handshake needs.
func (r *Request) noteHeader(name, value []byte) error {
	switch len(name) {
	case len("Host"):
		if httpEqualFold(name, "host") {
			if r.flags&reqHasHost != 0 {
				return ErrMalformedRequest // RFC 9112 §3.2: more than one Host
			}
			r.flags |= reqHasHost
			r.Host = value
		}
	case len("Origin"):
		if r.Origin == nil && httpEqualFold(name, "origin") {
			r.Origin = value
		}
	case len("Upgrade"):
		if httpEqualFold(name, "upgrade") && httpHasToken(value, "websocket") {
			r.flags |= reqUpgradeWebSocket
		}
	case len("Connection"):
		if httpEqualFold(name, "connection") && httpHasToken(value, "upgrade") {
			r.flags |= reqConnUpgrade
		}
	case len("Sec-WebSocket-Key"):
		if httpEqualFold(name, "sec-websocket-key") {
			if r.flags&reqHasKey != 0 {
				r.flags |= reqDupKey
			} else {
				r.flags |= reqHasKey
				r.Key = value
			}
		}
	case len("Sec-WebSocket-Version"):
		if httpEqualFold(name, "sec-websocket-version") {
			if r.flags&reqHasVersion != 0 {
				r.flags |= reqDupVersion
			} else {
				r.flags |= reqHasVersion
				r.Version = value
			}
		}
	}
	return nil
}

// IsUpgrade reports whether the request asks for a WebSocket upgrade: an
// Upgrade header holds the token "websocket" (any case).
func (r *Request) IsUpgrade() bool { return r.flags&reqUpgradeWebSocket != 0 }

// ValidateUpgrade checks a parsed request against the opening handshake rules
// of RFC 6455 §4.2.1, in this order, and returns the first failure:
//
//  1. the method is GET (ErrMethodNotAllowed);
//  2. a non-empty Host header is present (ErrMissingHost);
//  3. an Upgrade header holds the token "websocket", any case (ErrNotUpgrade);
//  4. a Connection header holds the token "upgrade", any case, in a comma
//     list, possibly over several Connection lines (ErrMissingConnUpgrade);
//  5. Sec-WebSocket-Version appears once and is exactly 13 (ErrBadVersion);
//  6. Sec-WebSocket-Key appears once and is the padded standard base64 of
//     exactly 16 bytes (ErrBadKey).
//
// It allocates nothing.
func (r *Request) ValidateUpgrade() error {
	if string(r.Method) != "GET" {
		return ErrMethodNotAllowed
	}
	if len(r.Host) == 0 {
		return ErrMissingHost
	}
	if r.flags&reqUpgradeWebSocket == 0 {
		return ErrNotUpgrade
	}
	if r.flags&reqConnUpgrade == 0 {
		return ErrMissingConnUpgrade
	}
	if r.flags&reqDupVersion != 0 || string(r.Version) != "13" {
		return ErrBadVersion
	}
	if r.flags&reqDupKey != 0 || !httpValidKey(r.Key) {
		return ErrBadKey
	}
	return nil
}

// httpValidKey reports whether key is the padded standard base64 of 16 bytes.
func httpValidKey(key []byte) bool {
	// 16 bytes encode to 22 significant characters plus "==".
	if len(key) != 24 || key[22] != '=' || key[23] != '=' {
		return false
	}
	var buf [18]byte
	n, err := base64.StdEncoding.Decode(buf[:], key)
	return err == nil && n == 16
}

// Character classes (RFC 9110 §5.6.2 tchar; request-target bytes; field
// value bytes: VCHAR, SP, HTAB, obs-text).
var (
	httpTchar      [256]bool
	httpTargetChar [256]bool
	httpValueChar  [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		isTchar := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
			bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0
		httpTchar[c] = isTchar
		// Visible ASCII and obs-text; no controls, SP or DEL.
		httpTargetChar[c] = b > ' ' && b != 0x7f
		httpValueChar[c] = b >= ' ' && b != 0x7f || b == '\t'
	}
}

// httpValidToken reports whether s is a non-empty token.
func httpValidToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !httpTchar[s[i]] {
			return false
		}
	}
	return true
}

// httpLower folds an ASCII upper-case letter to lower case.
func httpLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// httpEqualFold reports whether b equals s, ignoring ASCII case.
func httpEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if httpLower(b[i]) != httpLower(s[i]) {
			return false
		}
	}
	return true
}

// httpEqualFoldString is httpEqualFold for two strings.
func httpEqualFoldString(a, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if httpLower(a[i]) != httpLower(s[i]) {
			return false
		}
	}
	return true
}

// httpTrimOWS trims SP and HTAB from both ends of b.
func httpTrimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// httpNextElem splits the first element off a comma-separated list: elem is
// trimmed of OWS (possibly empty), rest follows the comma. Commas inside a
// quoted-string do not split.
func httpNextElem(v []byte) (elem, rest []byte) { return httpSplitQuoted(v, ',') }

// httpSplitQuoted splits v at the first sep outside a quoted-string: part is
// trimmed of OWS, rest follows sep (nil after the last part).
func httpSplitQuoted(v []byte, sep byte) (part, rest []byte) {
	inQuote, escaped := false, false
	for i, c := range v {
		switch {
		case escaped:
			escaped = false
		case inQuote:
			if c == '\\' {
				escaped = true
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == sep:
			return httpTrimOWS(v[:i]), v[i+1:]
		}
	}
	return httpTrimOWS(v), nil
}

// httpHasToken reports whether the comma list v holds token, ignoring case.
func httpHasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var e []byte
		e, v = httpNextElem(v)
		if httpEqualFold(e, token) {
			return true
		}
	}
	return false
}
