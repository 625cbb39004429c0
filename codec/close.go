package codec

import "encoding/binary"

// maxCloseReason is what is left of a control payload after the 2-byte code.
const maxCloseReason = MaxControlPayload - 2

// ValidCloseCode reports whether code may appear in a close frame on the
// wire: 1000-1003 and 1007-1014 (RFC 6455 §7.4.1 and the IANA registry),
// 3000-4999 (registered and private use, §7.4.2). 1004 is reserved, 1005,
// 1006 and 1015 must never be sent, and 1016-2999 are unassigned.
func ValidCloseCode(code CloseCode) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// ParseClosePayload splits a close frame payload into its code and reason
// (RFC 6455 §5.5.1). An empty payload means no code: CloseNoStatus. A
// 1-byte payload is ErrCloseTooShort; a code ValidCloseCode rejects is
// ErrInvalidCloseCode; a reason that is not UTF-8 is ErrInvalidCloseReason.
// reason aliases p.
func ParseClosePayload(p []byte) (code CloseCode, reason []byte, err error) {
	switch len(p) {
	case 0:
		return CloseNoStatus, nil, nil
	case 1:
		return 0, nil, ErrCloseTooShort
	}
	code = CloseCode(binary.BigEndian.Uint16(p))
	if !ValidCloseCode(code) {
		return 0, nil, ErrInvalidCloseCode
	}
	reason = p[2:]
	if !ValidUTF8(reason) {
		return 0, nil, ErrInvalidCloseReason
	}
	return code, reason, nil
}

// AppendCloseFrame appends an unmasked close frame to dst. CloseNoStatus (or
// 0) sends an empty payload, as §7.4.1 forbids 1005 on the wire. The reason
// is cut to the 123 bytes that fit a control frame, on a UTF-8 boundary so
// that a valid reason stays valid.
func AppendCloseFrame(dst []byte, code CloseCode, reason string) []byte {
	if code == CloseNoStatus || code == 0 {
		return AppendFrame(dst, OpClose, nil)
	}
	reason = truncateUTF8(reason, maxCloseReason)
	dst = appendHeader(dst, true, 0, OpClose, int64(2+len(reason)), nil)
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// truncateUTF8 cuts s to at most n bytes without splitting a code point.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// s[n] is the first byte cut off. If it continues a code point
	// (10xxxxxx), back off to that code point's first byte: at most 3 steps
	// in valid UTF-8.
	for i := 0; i < 3 && n > 0 && s[n]&0xc0 == 0x80; i++ {
		n--
	}
	return s[:n]
}
