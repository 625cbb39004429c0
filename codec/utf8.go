package codec

import "encoding/binary"

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

// asciiMask has the high bit of each of 8 bytes: a word of ASCII ANDs to 0.
const asciiMask = 0x8080808080808080

// utf8Run advances state s over p and returns the new state. Between code
// points it skips ASCII 16 bytes at a time, since text is mostly ASCII.
func utf8Run(s uint8, p []byte) uint8 {
	i := 0
	for i < len(p) {
		if s == utf8Accept {
			for len(p)-i >= 16 {
				w0 := binary.LittleEndian.Uint64(p[i:])
				w1 := binary.LittleEndian.Uint64(p[i+8:])
				if (w0|w1)&asciiMask != 0 {
					break
				}
				i += 16
			}
			if len(p)-i >= 8 && binary.LittleEndian.Uint64(p[i:])&asciiMask == 0 {
				i += 8
			}
			// Skip the ASCII bytes before the next non-ASCII one.
			for i < len(p) && p[i] < 0x80 {
				i++
			}
			if i == len(p) {
				break
			}
		}
		s = utf8Next[s][p[i]]
		if s == utf8Reject {
			return s
		}
		i++
	}
	return s
}

// ValidUTF8 reports whether p is valid UTF-8 (RFC 3629): no overlong forms,
// no surrogates, nothing above U+10FFFF, no unfinished code point at the end.
func ValidUTF8(p []byte) bool {
	return utf8Run(utf8Accept, p) == utf8Accept
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
