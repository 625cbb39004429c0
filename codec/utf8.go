package codec

import "unicode/utf8"

// UTF-8 validation for text messages (RFC 6455 §8.1, RFC 3629 §4).
//
// A text message may be split across fragments anywhere, even inside a code
// point, and must be rejected on the first fragment that cannot be the start
// of valid UTF-8. unicode/utf8 answers only for whole buffers, so the decoder
// keeps a one-byte DFA state between fragments instead of copying unfinished
// code points around.

// DFA states. Every state other than utf8Accept and utf8Reject is "inside a
// code point"; the name says what the next byte must be.
const (
	utf8Accept  uint8 = iota // between code points
	utf8Reject               // invalid; stays here
	utf8Need1                // one more byte 80..BF
	utf8Need2                // two more bytes 80..BF
	utf8Need3                // three more bytes 80..BF
	utf8AfterE0              // A0..BF (no overlong 3-byte forms), then one more
	utf8AfterED              // 80..9F (no surrogates D800..DFFF), then one more
	utf8AfterF0              // 90..BF (no overlong 4-byte forms), then two more
	utf8AfterF4              // 80..8F (nothing above U+10FFFF), then two more
	utf8States
)

// utf8Next[state][b] is the state after byte b: one load per byte.
var utf8Next = buildUTF8DFA()

func buildUTF8DFA() (t [utf8States][256]uint8) {
	for s := range t {
		for b := range t[s] {
			t[s][b] = utf8Reject
		}
	}
	set := func(s uint8, lo, hi int, next uint8) {
		for b := lo; b <= hi; b++ {
			t[s][b] = next
		}
	}
	// Lead bytes (RFC 3629 §4): C0, C1 and F5..FF never appear.
	set(utf8Accept, 0x00, 0x7f, utf8Accept)
	set(utf8Accept, 0xc2, 0xdf, utf8Need1)
	set(utf8Accept, 0xe0, 0xe0, utf8AfterE0)
	set(utf8Accept, 0xe1, 0xec, utf8Need2)
	set(utf8Accept, 0xed, 0xed, utf8AfterED)
	set(utf8Accept, 0xee, 0xef, utf8Need2)
	set(utf8Accept, 0xf0, 0xf0, utf8AfterF0)
	set(utf8Accept, 0xf1, 0xf3, utf8Need3)
	set(utf8Accept, 0xf4, 0xf4, utf8AfterF4)
	// Continuation bytes.
	set(utf8Need1, 0x80, 0xbf, utf8Accept)
	set(utf8Need2, 0x80, 0xbf, utf8Need1)
	set(utf8Need3, 0x80, 0xbf, utf8Need2)
	set(utf8AfterE0, 0xa0, 0xbf, utf8Need1)
	set(utf8AfterED, 0x80, 0x9f, utf8Need1)
	set(utf8AfterF0, 0x90, 0xbf, utf8Need2)
	set(utf8AfterF4, 0x80, 0x8f, utf8Need2)
	return t
}

// utf8Run advances state s over p and returns the new state.
//
// The DFA is authoritative, but running it byte by byte measured 2-3x
// slower than unicode/utf8.Valid on non-ASCII text and far slower on ASCII
// (see BenchmarkUTF8). So the DFA only finishes a code point left open by
// the previous fragment and walks one left open at the end of p; the
// whole code points in between go to utf8.Valid.
func utf8Run(s uint8, p []byte) uint8 {
	for s != utf8Accept {
		if s == utf8Reject || len(p) == 0 {
			return s
		}
		s = utf8Next[s][p[0]]
		p = p[1:]
	}
	k := openTail(p)
	if !utf8.Valid(p[:k]) {
		return utf8Reject
	}
	for _, b := range p[k:] {
		s = utf8Next[s][b]
	}
	return s
}

// openTail returns where a code point cut by the end of p starts, or
// len(p) if p does not end inside one. If p[:openTail(p)] is not valid
// UTF-8, neither is p followed by anything: the byte at the cut is not a
// continuation byte, so it cannot finish a code point before it.
func openTail(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		if p[i]&0xc0 != 0x80 { // the last byte that is not a continuation
			if utf8.FullRune(p[i:]) { // also true for invalid bytes
				return len(p)
			}
			return i
		}
	}
	return len(p)
}

// ValidUTF8 reports whether p is valid UTF-8 (RFC 3629): no overlong forms,
// no surrogates, nothing above U+10FFFF, no unfinished code point at the end.
// It is unicode/utf8.Valid, which skips ASCII a word at a time.
func ValidUTF8(p []byte) bool {
	return utf8.Valid(p)
}

// UTF8Validator validates UTF-8 incrementally, across fragments split
// anywhere (RFC 6455 §8.1). Its zero value is ready; its state is one byte.
type UTF8Validator struct {
	state uint8
}

// Write feeds the next bytes. It returns false once any invalid sequence has
// been seen; a code point still unfinished at the end of p is not invalid
// yet (it may be finished by the next Write).
func (v *UTF8Validator) Write(p []byte) bool {
	if v.state == utf8Reject {
		return false
	}
	v.state = utf8Run(v.state, p)
	return v.state != utf8Reject
}

// Complete reports whether everything written so far is valid UTF-8 with no
// code point left unfinished.
func (v *UTF8Validator) Complete() bool { return v.state == utf8Accept }

// Reset makes v ready for a new text.
func (v *UTF8Validator) Reset() { v.state = utf8Accept }
