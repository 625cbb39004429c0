package redisbroker

import (
	"errors"

	"github.com/switchboard-ws/switchboard/engine"
)

// The envelope of a message in Redis:
//
//	byte 0      format marker, 0xB1 (version 1)
//	byte 1      message type: 1 text, 2 binary (engine.MessageType)
//	bytes 2-17  the publishing node's ID (16 random bytes)
//	bytes 18-   the payload
//
// The channel is Config.Prefix + topic.
const (
	envMarker = 0xB1
	envHeader = 2 + nodeIDLen
	nodeIDLen = 16
)

var errEnvelope = errors.New("redisbroker: not a switchboard message")

func encode(node *[nodeIDLen]byte, typ engine.MessageType, payload []byte) []byte {
	b := make([]byte, envHeader+len(payload))
	b[0] = envMarker
	b[1] = byte(typ)
	copy(b[2:envHeader], node[:])
	copy(b[envHeader:], payload)
	return b
}

// decode splits an envelope; payload aliases s.
func decode(s string) (typ engine.MessageType, node string, payload string, err error) {
	if len(s) < envHeader || s[0] != envMarker {
		return 0, "", "", errEnvelope
	}
	typ = engine.MessageType(s[1])
	if typ != engine.Text && typ != engine.Binary {
		return 0, "", "", errEnvelope
	}
	return typ, s[2:envHeader], s[envHeader:], nil
}
