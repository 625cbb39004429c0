package codec

import "strconv"

// CloseCode is a WebSocket close status code (RFC 6455 §7.4).
type CloseCode uint16

// Close codes from RFC 6455 §7.4.1 and the IANA "WebSocket Close Code Number" registry.
const (
	CloseNormal              CloseCode = 1000
	CloseGoingAway           CloseCode = 1001
	CloseProtocolError       CloseCode = 1002
	CloseUnsupportedData     CloseCode = 1003
	CloseNoStatus            CloseCode = 1005 // never sent on the wire
	CloseAbnormal            CloseCode = 1006 // never sent on the wire
	CloseInvalidPayload      CloseCode = 1007
	ClosePolicyViolation     CloseCode = 1008
	CloseMessageTooBig       CloseCode = 1009
	CloseMandatoryExtension  CloseCode = 1010
	CloseInternalError       CloseCode = 1011
	CloseServiceRestart      CloseCode = 1012
	CloseTryAgainLater       CloseCode = 1013
	CloseBadGateway          CloseCode = 1014
	CloseTLSHandshakeFailure CloseCode = 1015 // never sent on the wire
)

// Error is a protocol violation found by the codec. Frame and message errors
// carry the close code to send (Code); handshake errors carry the HTTP status
// to answer with (Status). The codec returns only the package-level *Error
// values below, so returning an error never allocates and callers may compare
// with errors.Is or ==.
type Error struct {
	Code   CloseCode // close code for frame/message errors; 0 for handshake errors
	Status int       // HTTP status for handshake errors; 0 for frame/message errors
	Reason string    // short, safe to send to the peer as a close reason or HTTP body
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return "websocket handshake: " + strconv.Itoa(e.Status) + " " + e.Reason
	}
	return "websocket: " + strconv.Itoa(int(e.Code)) + " " + e.Reason
}

// Handshake errors (HTTP status).
var (
	ErrHeadTooLarge       = &Error{Status: 431, Reason: "request header fields too large"}
	ErrMalformedRequest   = &Error{Status: 400, Reason: "malformed HTTP request"}
	ErrMethodNotAllowed   = &Error{Status: 405, Reason: "method not allowed: websocket upgrade needs GET"}
	ErrHTTPVersion        = &Error{Status: 505, Reason: "HTTP/1.1 required"}
	ErrMissingHost        = &Error{Status: 400, Reason: "missing Host header"}
	ErrNotUpgrade         = &Error{Status: 426, Reason: "upgrade to websocket required"}
	ErrMissingConnUpgrade = &Error{Status: 400, Reason: "Connection header must contain Upgrade"}
	ErrBadVersion         = &Error{Status: 426, Reason: "unsupported Sec-WebSocket-Version: 13 required"}
	ErrBadKey             = &Error{Status: 400, Reason: "Sec-WebSocket-Key must be base64 of 16 bytes"}
)

// Frame and message errors (close code).
var (
	ErrReservedOpcode     = &Error{Code: CloseProtocolError, Reason: "reserved opcode"}
	ErrReservedBits       = &Error{Code: CloseProtocolError, Reason: "RSV bits set without a negotiated extension"}
	ErrUnmaskedFrame      = &Error{Code: CloseProtocolError, Reason: "client frame not masked"}
	ErrMaskedFrame        = &Error{Code: CloseProtocolError, Reason: "server frame masked"}
	ErrLengthOverflow     = &Error{Code: CloseProtocolError, Reason: "64-bit length with the most significant bit set"}
	ErrNonMinimalLength   = &Error{Code: CloseProtocolError, Reason: "payload length not in minimal encoding"}
	ErrControlTooLong     = &Error{Code: CloseProtocolError, Reason: "control frame payload over 125 bytes"}
	ErrControlFragmented  = &Error{Code: CloseProtocolError, Reason: "fragmented control frame"}
	ErrUnexpectedCont     = &Error{Code: CloseProtocolError, Reason: "continuation frame without a started message"}
	ErrExpectedCont       = &Error{Code: CloseProtocolError, Reason: "new data frame inside a fragmented message"}
	ErrFrameTooBig        = &Error{Code: CloseMessageTooBig, Reason: "frame too big"}
	ErrMessageTooBig      = &Error{Code: CloseMessageTooBig, Reason: "message too big"}
	ErrInvalidUTF8        = &Error{Code: CloseInvalidPayload, Reason: "invalid UTF-8 in text message"}
	ErrBadCompressed      = &Error{Code: CloseInvalidPayload, Reason: "invalid permessage-deflate data"}
	ErrCloseTooShort      = &Error{Code: CloseProtocolError, Reason: "close frame payload of 1 byte"}
	ErrInvalidCloseCode   = &Error{Code: CloseProtocolError, Reason: "invalid close code"}
	ErrInvalidCloseReason = &Error{Code: CloseInvalidPayload, Reason: "close reason not valid UTF-8"}
	// ErrOverBudget is not a protocol violation: the message was within its
	// limit, but holding more of it would pass the server-wide Budget for
	// messages in progress. 1013 (Try Again Later) tells the peer to retry
	// later, after a backoff.
	ErrOverBudget = &Error{Code: CloseTryAgainLater, Reason: "server busy: inbound memory budget reached"}
)
