package main

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"Zoë K.", true},
		{"bob_2-x", true},
		{"", false},
		{" alice", false},
		{"alice ", false},
		{"a<b>", false},
		{"\"quoted\"", false},
		{strings.Repeat("x", maxNameLen), true},
		{strings.Repeat("x", maxNameLen+1), false},
		{"bad\xffutf8", false},
	}
	for _, tt := range tests {
		if err := checkName(tt.name); (err == nil) != tt.ok {
			t.Errorf("checkName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestStamp(t *testing.T) {
	alice := &member{room: "a", name: "alice"}
	tests := []struct {
		in, want string
	}{
		{`{"text":"hi"}`, `{"name":"alice","text":"hi"}`},
		{`{"name":"mallory","text":"hi"}`, `{"name":"alice","text":"hi"}`}, // the client's name is ignored
		{`plain text`, `{"name":"alice","text":"plain text"}`},
		{`{"text":"<b>\"x\""}`, `{"name":"alice","text":"\u003cb\u003e\"x\""}`},
	}
	for _, tt := range tests {
		got, err := stamp(alice, []byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("stamp(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}
