package main

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/switchboard-ws/switchboard/hub"
)

// The wire format of docs/protocol.md. Every room message is
//
//	{"offset":N,"epoch":"E","data":"<the text published>"}
//
// (offset 0 and epoch "" for a message the room's history does not hold,
// e.g. one delivered on this instance only while Redis was down). When a
// recovery (?since=N&epoch=E) cannot be made, or messages were lost for a
// live connection, the client gets
//
//	{"recovered":false,"epoch":"E2","offset":M}
//
// and carries on from offset M of epoch E2. Who is in the room:
//
//	{"presence":[{"id":"ID","info":{"name":"alice"}},...]}   on joining, and when members vanished
//	{"join":{"id":"ID","info":{"name":"bob"}}}
//	{"leave":{"id":"ID","info":{"name":"bob"}}}

// envelope is the hub's Config.Envelope: it runs once per message.
func envelope(dst []byte, _ string, pos hub.Position, payload []byte) []byte {
	dst = append(dst, `{"offset":`...)
	dst = strconv.AppendUint(dst, pos.Offset, 10)
	dst = append(dst, `,"epoch":`...)
	dst = appendJSONString(dst, pos.Epoch)
	dst = append(dst, `,"data":`...)
	dst = appendJSONString(dst, string(payload))
	return append(dst, '}')
}

// notRecovered is what a client is told when its position is gone.
func notRecovered(pos hub.Position) []byte {
	b, _ := json.Marshal(struct {
		Recovered bool   `json:"recovered"`
		Epoch     string `json:"epoch"`
		Offset    uint64 `json:"offset"`
	}{false, pos.Epoch, pos.Offset})
	return b
}

// appendJSONString appends s as a JSON string. s is valid UTF-8 (the hub
// refuses invalid text).
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != '\u2028' && r != '\u2029' {
				i += size
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hex[r&0xF])
			i += size
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// memberJSON is a presence member on the wire; info is the JSON given at
// subscribe time.
type memberJSON struct {
	ID   string          `json:"id"`
	Info json.RawMessage `json:"info"`
}

func members(ms []hub.Member) []memberJSON {
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = memberJSON{ID: m.ID, Info: m.Info}
	}
	return out
}

// presenceList is the room's presence, sent to a client when it joins.
func presenceList(ms []hub.Member) []byte {
	b, _ := json.Marshal(struct {
		Presence []memberJSON `json:"presence"`
	}{members(ms)})
	return b
}

// presenceEvent is the hub's Config.PresenceEvent.
func presenceEvent(dst []byte, _ string, ev hub.PresenceEvent) []byte {
	var v any
	switch ev.Kind {
	case hub.Join:
		v = struct {
			Join memberJSON `json:"join"`
		}{memberJSON{ev.Member.ID, ev.Member.Info}}
	case hub.Leave:
		v = struct {
			Leave memberJSON `json:"leave"`
		}{memberJSON{ev.Member.ID, ev.Member.Info}}
	case hub.Snapshot:
		return append(dst, presenceList(ev.Members)...)
	default:
		return nil
	}
	b, _ := json.Marshal(v)
	return append(dst, b...)
}

// memberInfo is what the room's presence says about a user.
func memberInfo(m *member) []byte {
	b, _ := json.Marshal(struct {
		Name string `json:"name"`
	}{m.name})
	return b
}
