package client

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
)

// The HTTP response head of the handshake (or of a proxy's CONNECT): a
// small parser with no allocation on a declared length, fuzzed
// (FuzzParseResponse). net/http's reader is not used because the head must
// be read from a bufferless net.Conn without reading past it further than
// the bytes that arrived, which are the first frames.

// DefaultMaxResponseHead bounds the response head (status line and
// headers); a longer one fails the handshake.
const DefaultMaxResponseHead = 16 << 10

// maxErrorBody bounds the body kept in a HandshakeError.
const maxErrorBody = 64 << 10

var (
	errMalformedResponse = errors.New("client: malformed HTTP response")
	errHeadTooLarge      = errors.New("client: HTTP response head too large")
)

// respHead is a parsed response head; fields alias the parsed bytes.
type respHead struct {
	status int
	fields [][2][]byte // name, value (trimmed)
}

// header returns the first value of a header (case-insensitive), or nil.
func (r *respHead) header(name string) ([]byte, bool) {
	for _, f := range r.fields {
		if equalFold(f[0], name) {
			return f[1], true
		}
	}
	return nil, false
}

// values calls fn with every comma-separated element of every header name.
func (r *respHead) elements(name string, fn func(elem []byte)) {
	for _, f := range r.fields {
		if !equalFold(f[0], name) {
			continue
		}
		v := f[1]
		for len(v) > 0 {
			var e []byte
			e, v = splitList(v)
			if len(e) > 0 {
				fn(e)
			}
		}
	}
}

// httpHeader copies the fields into an http.Header.
func (r *respHead) httpHeader() http.Header {
	h := make(http.Header, len(r.fields))
	for _, f := range r.fields {
		h.Add(string(f[0]), string(f[1]))
	}
	return h
}

// headEnd returns the length of the head in p (through the blank line),
// or 0 if it is not complete yet.
func headEnd(p []byte) int {
	if i := bytes.Index(p, []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	return 0
}

// parseResponse parses a complete response head (as headEnd delimits it).
func parseResponse(head []byte) (respHead, error) {
	var r respHead
	line, rest, ok := cutLine(head)
	if !ok {
		return r, errMalformedResponse
	}
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(line[7] != '0' && line[7] != '1') || (len(line) > 12 && line[12] != ' ') {
		return r, errMalformedResponse
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return r, errMalformedResponse
		}
	}
	r.status, _ = strconv.Atoi(string(line[9:12]))
	if r.status < 100 {
		return r, errMalformedResponse
	}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return r, errMalformedResponse
		}
		if len(line) == 0 {
			return r, nil // the blank line
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !validToken(line[:colon]) {
			return r, errMalformedResponse
		}
		v := trimOWS(line[colon+1:])
		for _, c := range v {
			if c == 0 || c == '\r' || c == '\n' {
				return r, errMalformedResponse
			}
		}
		if len(r.fields) >= 256 {
			return r, errHeadTooLarge
		}
		r.fields = append(r.fields, [2][]byte{line[:colon], v})
	}
}

// cutLine splits off the first CRLF-terminated line.
func cutLine(p []byte) (line, rest []byte, ok bool) {
	i := bytes.Index(p, []byte("\r\n"))
	if i < 0 {
		return nil, nil, false
	}
	return p[:i], p[i+2:], true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// splitList splits the first element off a comma-separated header value;
// a comma inside a quoted-string does not split.
func splitList(v []byte) (elem, rest []byte) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case c == '\\' && quoted:
			i++
		case c == ',' && !quoted:
			return trimOWS(v[:i]), v[i+1:]
		}
	}
	return trimOWS(v), nil
}

func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte("\"(),/:;<=>?@[\\]{}"), c) >= 0 {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}
