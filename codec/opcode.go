package codec

import (
	"strconv"

	"github.com/gobwas/ws"
)

// OpCode is a frame opcode (RFC 6455 §5.2). It is gobwas/ws's type, so
// values pass between the two packages without conversion.
type OpCode = ws.OpCode

// Opcodes defined by RFC 6455 §5.2; all others are reserved.
const (
	OpContinuation = ws.OpContinuation
	OpText         = ws.OpText
	OpBinary       = ws.OpBinary
	OpClose        = ws.OpClose
	OpPing         = ws.OpPing
	OpPong         = ws.OpPong
)

// Size limits from RFC 6455 §5.2 and §5.5, and the default message limit.
const (
	// MaxHeaderSize is the largest frame header: 2 bytes, 8 bytes of
	// extended length and a 4-byte masking key.
	MaxHeaderSize = 14
	// MaxControlPayload is the largest payload of a control frame (§5.5).
	MaxControlPayload = 125
	// DefaultMaxMessageSize is the message limit when
	// DecoderConfig.MaxMessageSize is not set.
	DefaultMaxMessageSize = 1 << 20
)

// Kind says what Decode produced.
type Kind uint8

// Kinds of Message.
const (
	KindNone Kind = iota // a fragment was consumed; no message yet
	KindText
	KindBinary
	KindPing
	KindPong
	KindClose
)

var kindNames = [...]string{"none", "text", "binary", "ping", "pong", "close"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// dataKind maps a data opcode (text or binary) to its Kind.
func dataKind(op OpCode) Kind {
	if op == OpText {
		return KindText
	}
	return KindBinary
}

// controlKind maps a control opcode (close, ping or pong) to its Kind.
func controlKind(op OpCode) Kind {
	switch op {
	case OpPing:
		return KindPing
	case OpPong:
		return KindPong
	}
	return KindClose
}
