package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-ws/switchboard/hub"
)

// maxNameLen bounds a user's name, in characters.
const maxNameLen = 32

// member is who a connection is and where it talks, decided once at the
// upgrade and kept as the connection's value. Messages are stamped with
// member.name by the server: a name inside a client's message is ignored,
// so nobody can post under someone else's name on a connection of their
// own.
//
// The name comes from the `name` query parameter, which any client may set
// to anything: this example has no accounts. A real application takes the
// identity from what it already trusts at the upgrade, a session cookie
// checked in Config.Upgrade for instance, and stores it the same way.
type member struct {
	room, name string
	since      *hub.Position // where to recover from, or nil
}

// checkName accepts 1 to maxNameLen letters, digits, spaces and '-', '_',
// '.', with no space at either end.
func checkName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > maxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("name must be 1 to %d characters", maxNameLen)
	}
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || r == '-' || r == '_' || r == '.') {
			return errors.New("name may hold only letters, digits, spaces, '-', '_' and '.'")
		}
	}
	if name[0] == ' ' || name[len(name)-1] == ' ' {
		return errors.New("name must not start or end with a space")
	}
	return nil
}

// chatMessage is what the room receives: the sender's name, stamped by the
// server, and the text.
type chatMessage struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// stamp turns what a client sent into the message its room receives. A
// client sends {"text": "..."}; any other field, "name" included, is
// ignored. Text that is not a JSON object is taken as the text itself.
func stamp(from *member, data []byte) ([]byte, error) {
	var in struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(data, &in) != nil {
		in.Text = string(data)
	}
	return json.Marshal(chatMessage{Name: from.name, Text: in.Text})
}
