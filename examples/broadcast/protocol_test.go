package main

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-ws/switchboard/hub"
)

func TestEnvelope(t *testing.T) {
	for _, data := range []string{"", "hi", `{"name":"a","text":"b"}`, "tab\there\nnew \"q\" \\ \x01 \u2028 Zoë 🎉"} {
		b := envelope(nil, "room", hub.Position{Offset: 42, Epoch: "e1"}, []byte(data))
		var got struct {
			Offset uint64
			Epoch  string
			Data   string
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %v: %s", data, err, b)
		}
		if got.Offset != 42 || got.Epoch != "e1" || got.Data != data {
			t.Fatalf("%q: got %+v", data, got)
		}
	}
	if got := string(notRecovered(hub.Position{Offset: 7, Epoch: "x"})); got != `{"recovered":false,"epoch":"x","offset":7}` {
		t.Fatal(got)
	}
}

func FuzzEnvelope(f *testing.F) {
	f.Add("hello", uint64(1), "e")
	f.Fuzz(func(t *testing.T, data string, off uint64, epoch string) {
		b := envelope(nil, "r", hub.Position{Offset: off, Epoch: epoch}, []byte(data))
		if !json.Valid(b) {
			if validUTF8(data) && validUTF8(epoch) {
				t.Fatalf("invalid JSON for %q %q: %s", data, epoch, b)
			}
			return
		}
	})
}
