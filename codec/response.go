package codec

import (
	"crypto/sha1"
	"encoding/base64"
	"strconv"
)

// handshakeGUID is the magic string of RFC 6455 §1.3.
const handshakeGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKeySize is the length of a Sec-WebSocket-Accept value.
const AcceptKeySize = 28

// HeaderField is one extra response header.
type HeaderField struct{ Name, Value string }

// PutAcceptKey writes the Sec-WebSocket-Accept value for key into dst[:28]:
// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), RFC 6455
// §4.2.2. key is used as given (ParseRequest already trimmed it). It
// allocates nothing for keys up to 64 bytes (a valid key has 24) and panics
// if len(dst) < 28.
func PutAcceptKey(dst []byte, key []byte) {
	_ = dst[AcceptKeySize-1]
	var sum [sha1.Size]byte
	if len(key) <= 64 {
		var buf [64 + len(handshakeGUID)]byte
		n := copy(buf[:], key)
		n += copy(buf[n:], handshakeGUID)
		sum = sha1.Sum(buf[:n])
	} else {
		h := sha1.New()
		h.Write(key)
		h.Write([]byte(handshakeGUID))
		h.Sum(sum[:0])
	}
	base64.StdEncoding.Encode(dst[:AcceptKeySize], sum[:])
}

// Names of the headers the Append functions write themselves; extra header
// fields with these names are skipped so they cannot contradict the framing.
const (
	respRsvUpgrade uint16 = 1 << iota
	respRsvConnection
	respRsvAccept
	respRsvProtocol
	respRsvContentType
	respRsvContentLength
	respRsvTransferEncoding
	respRsvWebSocketVersion
)

var respReservedNames = [...]string{
	"Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol",
	"Content-Type", "Content-Length", "Transfer-Encoding", "Sec-WebSocket-Version",
}

// AppendUpgradeResponse appends the 101 Switching Protocols response for a
// request with Sec-WebSocket-Key key: Upgrade: websocket, Connection: Upgrade,
// Sec-WebSocket-Accept, Sec-WebSocket-Protocol when protocol != "", each extra
// header, and the blank line.
//
// An extra field is skipped when its name is not a valid token, its value
// holds CR, LF or NUL (no header injection), or it names a header this
// function writes itself (Upgrade, Connection, Sec-WebSocket-Accept,
// Content-Length, Transfer-Encoding, and Sec-WebSocket-Protocol when
// protocol != ""). protocol is skipped unless it is a valid token. Nothing is
// allocated beyond growing dst.
func AppendUpgradeResponse(dst []byte, key []byte, protocol string, extra []HeaderField) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\n"+
		"Connection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "...)
	n := len(dst)
	dst = append(dst, "                            \r\n"...) // 28 spaces, filled below
	PutAcceptKey(dst[n:], key)
	reserved := respRsvUpgrade | respRsvConnection | respRsvAccept | respRsvContentLength | respRsvTransferEncoding
	if protocol != "" && httpValidToken(protocol) {
		dst = append(dst, "Sec-WebSocket-Protocol: "...)
		dst = append(dst, protocol...)
		dst = append(dst, "\r\n"...)
		reserved |= respRsvProtocol
	}
	dst = respAppendFields(dst, extra, reserved)
	return append(dst, "\r\n"...)
}

// AppendResponse appends a complete HTTP/1.1 response: the status line with
// the standard reason phrase (net/http.StatusText; "status code N" for codes
// without one; a status outside 100-999 is sent as 500), each extra header,
// Content-Type (text/plain; charset=utf-8 when contentType is "" or unsafe),
// Content-Length, Connection: close, the blank line and body.
//
// Extra fields are sanitized as in AppendUpgradeResponse; fields named
// Content-Type, Content-Length, Transfer-Encoding or Connection are skipped.
// Nothing is allocated beyond growing dst.
func AppendResponse(dst []byte, status int, extra []HeaderField, contentType string, body []byte) []byte {
	dst = respAppendHead(dst, status, extra, 0, HeaderField{}, contentType, len(body))
	return append(dst, body...)
}

// AppendHandshakeError appends the response for a handshake error: status
// err.Status (500 when err is nil or carries no 4xx/5xx status), body
// err.Reason + "\n" as text/plain, Connection: close, plus
// "Sec-WebSocket-Version: 13" for ErrBadVersion (RFC 6455 §4.4) and
// "Upgrade: websocket" for ErrNotUpgrade (426, RFC 9110 §15.5.22). extra is
// sanitized as in AppendResponse. Nothing is allocated beyond growing dst.
func AppendHandshakeError(dst []byte, err *Error, extra []HeaderField) []byte {
	status, reason := 500, "internal server error"
	if err != nil && err.Status >= 400 && err.Status <= 599 {
		status, reason = err.Status, err.Reason
	}
	var special HeaderField
	var reserved uint16
	switch err {
	case ErrBadVersion:
		special, reserved = HeaderField{"Sec-WebSocket-Version", "13"}, respRsvWebSocketVersion
	case ErrNotUpgrade:
		special, reserved = HeaderField{"Upgrade", "websocket"}, respRsvUpgrade
	}
	dst = respAppendHead(dst, status, extra, reserved, special, "", len(reason)+1)
	dst = append(dst, reason...)
	return append(dst, '\n')
}

// respAppendHead appends the status line, special (if its Name is set),
// the sanitized extra fields, Content-Type, Content-Length, Connection: close
// and the blank line.
func respAppendHead(dst []byte, status int, extra []HeaderField, reserved uint16,
	special HeaderField, contentType string, contentLength int) []byte {
	if status < 100 || status > 999 {
		status = 500
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	if text := httpStatusText(status); text != "" {
		dst = append(dst, text...)
	} else {
		dst = append(dst, "status code "...)
		dst = strconv.AppendInt(dst, int64(status), 10)
	}
	dst = append(dst, "\r\n"...)
	if special.Name != "" {
		dst = respAppendField(dst, special.Name, special.Value)
	}
	dst = respAppendFields(dst, extra, reserved|respRsvContentType|respRsvContentLength|respRsvTransferEncoding|respRsvConnection)
	if contentType == "" || !httpSafeValue(contentType) {
		contentType = "text/plain; charset=utf-8"
	}
	dst = respAppendField(dst, "Content-Type", contentType)
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(contentLength), 10)
	return append(dst, "\r\nConnection: close\r\n\r\n"...)
}

func respAppendFields(dst []byte, extra []HeaderField, reserved uint16) []byte {
	for _, f := range extra {
		if !httpValidToken(f.Name) || !httpSafeValue(f.Value) || respIsReserved(f.Name, reserved) {
			continue
		}
		dst = respAppendField(dst, f.Name, f.Value)
	}
	return dst
}

func respAppendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

func respIsReserved(name string, reserved uint16) bool {
	for i, rn := range respReservedNames {
		if reserved&(1<<i) != 0 && httpEqualFoldString(name, rn) {
			return true
		}
	}
	return false
}

// httpSafeValue reports whether v can be written as a header value: it holds
// no CR, LF or NUL.
func httpSafeValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// httpStatusText is net/http.StatusText, without importing net/http.
func httpStatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 102:
		return "Processing"
	case 103:
		return "Early Hints"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 207:
		return "Multi-Status"
	case 208:
		return "Already Reported"
	case 226:
		return "IM Used"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 305:
		return "Use Proxy"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Request Entity Too Large"
	case 414:
		return "Request URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Requested Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 418:
		return "I'm a teapot"
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Entity"
	case 423:
		return "Locked"
	case 424:
		return "Failed Dependency"
	case 425:
		return "Too Early"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 451:
		return "Unavailable For Legal Reasons"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	case 506:
		return "Variant Also Negotiates"
	case 507:
		return "Insufficient Storage"
	case 508:
		return "Loop Detected"
	case 510:
		return "Not Extended"
	case 511:
		return "Network Authentication Required"
	}
	return ""
}
