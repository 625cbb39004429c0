package pmd

import (
	"bytes"
	"testing"
)

// FuzzInflate inflates arbitrary payloads with and without a dictionary
// under a limit. Invariants: no panic; the output never exceeds the limit;
// any error is ErrTooLarge or ErrCorrupt; ErrTooLarge only with exactly
// limit bytes out; a success under a limit gives the same bytes as under a
// large one.
func FuzzInflate(f *testing.F) {
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, []byte(nil), uint16(100))
	f.Add([]byte{0xf2, 0x00, 0x11, 0x00, 0x00}, []byte("Hello"), uint16(5))
	f.Add([]byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, []byte(nil), uint16(3))
	f.Add(Deflate(nil, jsonMsg(1000, 0), nil), []byte(nil), uint16(999))
	f.Add(Deflate(nil, make([]byte, 60000), nil), []byte(nil), uint16(4096))
	f.Fuzz(func(t *testing.T, payload, dict []byte, limit uint16) {
		got, err := Inflate(nil, payload, dict, int(limit))
		if len(got) > int(limit) {
			t.Fatalf("%d bytes out, limit %d", len(got), limit)
		}
		switch err {
		case nil:
			full, err := Inflate(nil, payload, dict, 1<<17)
			if err != nil || !bytes.Equal(full, got) {
				t.Fatalf("under a larger limit: %v, equal %v", err, bytes.Equal(full, got))
			}
		case ErrTooLarge:
			if len(got) != int(limit) {
				t.Fatalf("ErrTooLarge with %d bytes, limit %d", len(got), limit)
			}
		case ErrCorrupt:
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzRoundTrip compresses arbitrary messages with an arbitrary dictionary
// and inflates them back, and with DeflateLimited. Invariants: exact
// round trip; one byte less of limit gives ErrTooLarge.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), []byte(nil))
	f.Add(jsonMsg(2000, 1), jsonMsg(4096, 2))
	f.Add([]byte{}, []byte("dict"))
	f.Fuzz(func(t *testing.T, msg, dict []byte) {
		var w Window
		w.Init(len(dict))
		w.Append(dict)
		z := Deflate(nil, msg, w.Bytes())
		got, err := Inflate(make([]byte, 0, 1), z, w.Bytes(), len(msg))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip: %v", err)
		}
		if len(msg) > 0 {
			if _, err := Inflate(nil, z, w.Bytes(), len(msg)-1); err != ErrTooLarge {
				t.Fatalf("limit len-1: %v", err)
			}
		}
		// The window-limited compressor round-trips too (the window
		// size taken from the dictionary's length).
		bits := MinLimitBits + len(dict)%(MaxLimitBits-MinLimitBits+1)
		zl := DeflateLimited(nil, msg, bits)
		if got, err := Inflate(nil, zl, nil, len(msg)); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("limited %d round trip: %v", bits, err)
		}
	})
}

// FuzzDeflateWithin compresses arbitrary messages under context takeover
// with an arbitrary history and window. Invariants: exact round trip with
// the history; no reference reaches further back than the window: the
// same output inflates with the history beyond the window's reach
// replaced by other bytes (see TestDeflateWithin).
func FuzzDeflateWithin(f *testing.F) {
	f.Add(jsonMsg(300, 1), jsonMsg(4096, 1), uint8(12), uint8(1))
	f.Add(jsonMsg(5000, 2), jsonMsg(8000, 2), uint8(12), uint8(5))
	f.Add([]byte("abcabcabc"), []byte("abc"), uint8(9), uint8(9))
	f.Fuzz(func(t *testing.T, msg, dict []byte, bits, level uint8) {
		b := MinLimitBits + int(bits)%(MaxLimitBits-MinLimitBits+1)
		lv := MinLevel + int(level)%(MaxLevel-MinLevel+1)
		w := 1 << b
		if len(dict) > w {
			dict = dict[len(dict)-w:] // a window's history is at most the window
		}
		z := DeflateWithin(nil, msg, dict, b, lv)
		got, err := Inflate(nil, z, dict, len(msg))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("bits %d level %d: round trip: %v", b, lv, err)
		}
		if b >= MaxLimitBits {
			return
		}
		reach := w
		if len(msg) <= w {
			reach = w - len(msg)
		}
		if cut := len(dict) - reach; cut > 0 {
			masked := append(bytes.Repeat([]byte{0}, cut), dict[cut:]...)
			for i := range cut { // bytes unlike the history's
				masked[i] = ^dict[i]
			}
			if got, err := Inflate(nil, z, masked, len(msg)); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("bits %d level %d: a reference reached past the window (%v)", b, lv, err)
			}
		}
	})
}
