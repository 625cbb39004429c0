package tlsrec

import (
	"errors"
	"fmt"
)

// Alert is a TLS alert description (RFC 8446 §6). As an error returned by
// this package it is the alert to send to the peer before closing.
type Alert uint8

// Alert descriptions this package sends or reports.
const (
	AlertCloseNotify       Alert = 0
	AlertUnexpectedMessage Alert = 10
	AlertBadRecordMAC      Alert = 20
	AlertRecordOverflow    Alert = 22
	AlertHandshakeFailure  Alert = 40
	AlertIllegalParameter  Alert = 47
	AlertDecodeError       Alert = 50
	AlertProtocolVersion   Alert = 70
	AlertInternalError     Alert = 80
	AlertUserCanceled      Alert = 90
	AlertNoRenegotiation   Alert = 100
)

var alertNames = map[Alert]string{
	AlertCloseNotify: "close_notify", AlertUnexpectedMessage: "unexpected_message",
	AlertBadRecordMAC: "bad_record_mac", AlertRecordOverflow: "record_overflow",
	AlertHandshakeFailure: "handshake_failure", AlertIllegalParameter: "illegal_parameter",
	AlertDecodeError: "decode_error", AlertProtocolVersion: "protocol_version",
	AlertInternalError: "internal_error", AlertUserCanceled: "user_canceled",
	AlertNoRenegotiation: "no_renegotiation",
}

func (a Alert) String() string {
	if s, ok := alertNames[a]; ok {
		return s
	}
	return fmt.Sprintf("alert(%d)", uint8(a))
}

func (a Alert) Error() string { return "tlsrec: " + a.String() }

// PeerAlert is an alert the peer sent (other than close_notify).
type PeerAlert uint8

func (a PeerAlert) Error() string { return "tlsrec: peer sent alert " + Alert(a).String() }

// ErrSequenceExhausted is returned when a direction has used 2^64-1
// sequence numbers (RFC 8446 §5.3): the connection must end.
var ErrSequenceExhausted = errors.New("tlsrec: sequence numbers exhausted")
