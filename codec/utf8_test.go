package codec

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// utf8Cases are the classic edge cases of RFC 3629 and Markus Kuhn's
// UTF-8 decoder stress test, as the Autobahn suite (case 6) uses them.
var utf8Cases = []struct {
	name  string
	in    string
	valid bool
}{
	{name: "empty", in: "", valid: true},
	{name: "ASCII", in: "Hello-µ@ßöäüàá-UTF-8!!", valid: true},
	{name: "greek", in: "κόσμε", valid: true},
	{name: "first 2-byte", in: "\u0080", valid: true},
	{name: "first 3-byte", in: "\u0800", valid: true},
	{name: "first 4-byte", in: "\U00010000", valid: true},
	{name: "last 1-byte", in: "\x7f", valid: true},
	{name: "last 2-byte", in: "\u07ff", valid: true},
	{name: "last 3-byte", in: "\uffff", valid: true},
	{name: "last code point", in: "\U0010ffff", valid: true},
	{name: "before surrogates", in: "\ud7ff", valid: true},
	{name: "after surrogates", in: "\ue000", valid: true},
	{name: "U+FFFE", in: "\xef\xbf\xbe", valid: true},
	{name: "above U+10FFFF", in: "\xf4\x90\x80\x80", valid: false},
	{name: "5-byte form", in: "\xf8\x88\x80\x80\x80", valid: false},
	{name: "6-byte form", in: "\xfc\x84\x80\x80\x80\x80", valid: false},
	{name: "lone continuation 80", in: "\x80", valid: false},
	{name: "lone continuation bf", in: "\xbf", valid: false},
	{name: "lead without continuation", in: "\xc2 ", valid: false},
	{name: "3-byte lead missing last", in: "\xe0\x80", valid: false},
	{name: "4-byte lead missing last", in: "\xf0\x9f\x98", valid: false},
	{name: "fe", in: "\xfe", valid: false},
	{name: "ff", in: "\xff", valid: false},
	{name: "overlong slash 2-byte", in: "\xc0\xaf", valid: false},
	{name: "overlong slash 3-byte", in: "\xe0\x80\xaf", valid: false},
	{name: "overlong slash 4-byte", in: "\xf0\x80\x80\xaf", valid: false},
	{name: "overlong max 2-byte", in: "\xc1\xbf", valid: false},
	{name: "overlong max 3-byte", in: "\xe0\x9f\xbf", valid: false},
	{name: "overlong max 4-byte", in: "\xf0\x8f\xbf\xbf", valid: false},
	{name: "high surrogate", in: "\xed\xa0\x80", valid: false},
	{name: "low surrogate", in: "\xed\xbf\xbf", valid: false},
	{name: "surrogate pair", in: "\xed\xa0\x80\xed\xb0\x80", valid: false},
	{name: "invalid after 16 ASCII", in: "0123456789abcdef\xff", valid: false},
	{name: "invalid after 23 ASCII", in: "0123456789abcdef0123456\xc0", valid: false},
	{name: "valid after long ASCII", in: strings.Repeat("a", 37) + "☃" + strings.Repeat("b", 17), valid: true},
	{name: "invalid inside ASCII", in: strings.Repeat("a", 37) + "\x80" + strings.Repeat("b", 17), valid: false},
}

func TestRFC6455_8_1_UTF8(t *testing.T) {
	for _, tc := range utf8Cases {
		t.Run(tc.name, func(t *testing.T) {
			if utf8.ValidString(tc.in) != tc.valid {
				t.Fatalf(
					"bad case: unicode/utf8 says %v",
					!tc.valid)
			}
			if got := ValidUTF8([]byte(tc.in)); got != tc.valid {
				t.Fatalf(
					"ValidUTF8 = %v, want %v",
					got, tc.valid)
			}
			// Every split into two writes agrees.
			for i := 0; i <= len(tc.in); i++ {
				var v UTF8Validator
				ok := v.Write([]byte(tc.in[:i])) && v.Write([]byte(tc.in[i:])) && v.Complete()
				if ok != tc.valid {
					t.Fatalf(
						"split at %d: %v, want %v",
						i, ok, tc.valid)
				}
			}
			// Byte by byte.
			var v UTF8Validator
			ok := true
			for i := range len(tc.in) {
				ok = ok && v.Write([]byte{tc.in[i]})
			}
			if ok && v.Complete() != tc.valid || !ok && tc.valid {
				t.Fatalf(
					"byte by byte: ok=%v complete=%v, want %v",
					ok, v.Complete(), tc.valid)
			}
		})
	}
}

// TestRFC6455_8_1_UTF8FailsFast checks that Write fails on the first
// chunk that cannot start valid UTF-8, and that an unfinished code point is
// not an error until Complete.
func TestRFC6455_8_1_UTF8FailsFast(t *testing.T) {
	var v UTF8Validator
	if !v.Write([]byte("ab\xf0\x9f")) || v.Complete() {
		t.Fatalf(
			"unfinished code point: want Write true, Complete false")
	}
	if !v.Write([]byte("\x98\x80")) || !v.Complete() {
		t.Fatalf(
			"finished code point: want Write true, Complete true")
	}
	if v.Write([]byte("\xf0\x28")) || v.Complete() {
		t.Fatalf(
			"invalid second byte: want Write false")
	}
	if v.Write([]byte("ok")) {
		t.Fatalf(
			"validator recovered after an error")
	}
	v.Reset()
	if !v.Write([]byte("ok")) || !v.Complete() {
		t.Fatalf(
			"Reset did not reset")
	}
	// A lead byte that can never be finished fails at once.
	v.Reset()
	if v.Write([]byte("\xf5")) {
		t.Fatalf(
			"F5 accepted")
	}
	v.Reset()
	if v.Write([]byte("\xed\xa0")) {
		t.Fatalf(
			"surrogate prefix accepted")
	}
}

// TestRFC6455_8_1_UTF8Exhaustive compares the validator with unicode/utf8 on every 1- and
// 2-byte input, every 3-byte input starting with a lead byte, and every
// 4-byte input with a 4-byte lead and a sample of the last two bytes.
func TestRFC6455_8_1_UTF8Exhaustive(t *testing.T) {
	check := func(b []byte) {
		want := utf8.Valid(b)
		// Byte by byte: the DFA alone.
		var v UTF8Validator
		ok := true
		for i := range b {
			ok = ok && v.Write(b[i:i+1])
		}
		if got := ok && v.Complete(); got != want {
			t.Fatalf(
				"byte by byte % x: %v, want %v",
				b, got, want)
		}
		// In one write: the bulk path.
		v.Reset()
		if got := v.Write(b) && v.Complete(); got != want {
			t.Fatalf(
				"one write % x: %v, want %v",
				b, got, want)
		}
	}
	for a := range 256 {
		check([]byte{byte(a)})
		for b := range 256 {
			check([]byte{byte(a), byte(b)})
		}
	}
	for a := 0xc0; a < 0x100; a++ {
		for b := range 256 {
			for c := range 256 {
				check([]byte{byte(a), byte(b), byte(c)})
			}
		}
	}
	edges := []byte{0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff}
	for a := 0xf0; a < 0x100; a++ {
		for b := range 256 {
			for _, c := range edges {
				for _, d := range edges {
					check([]byte{byte(a), byte(b), c, d})
				}
			}
		}
	}
}

func TestValidUTF8Allocs(t *testing.T) {
	p := []byte(strings.Repeat("κόσμε ascii ", 20))
	if a := testing.AllocsPerRun(100, func() { ValidUTF8(p) }); a != 0 {
		t.Fatalf(
			"%v allocs",
			a)
	}
}
