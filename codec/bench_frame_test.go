package codec

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// Decode unmasks in place, so each iteration first copies the frame from a
// pristine source; SetBytes counts the frame once.

func benchDecode(b *testing.B, frame []byte, wantKind Kind) {
	var d Decoder
	d.Init(&DecoderConfig{})
	buf := make([]byte, len(frame))
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	for b.Loop() {
		copy(buf, frame)
		msg, n, err := d.Decode(buf)
		if err != nil || n != len(buf) || msg.Kind != wantKind {
			b.Fatalf(
				"n=%d kind=%v err=%v",
				n, msg.Kind, err)
		}
	}
}

func BenchmarkDecodeSmallText(b *testing.B) {
	benchDecode(b, cf(OpText, true, strings.Repeat("small text ", 11)), KindText)
}

func BenchmarkDecodeBinary16K(b *testing.B) {
	benchDecode(b, cf(OpBinary, true, strings.Repeat("\x00\xff", 8<<10)), KindBinary)
}

// BenchmarkDecodeText16K is unmask plus UTF-8 check of a 16 KiB text frame.
func BenchmarkDecodeText16K(b *testing.B) {
	b.Run("ascii", func(b *testing.B) {
		benchDecode(b, cf(OpText, true, strings.Repeat("0123456789abcdef", 1<<10)), KindText)
	})
	b.Run("mixed", func(b *testing.B) {
		// Mostly ASCII with a multi-byte code point every 16 bytes.
		benchDecode(b, cf(OpText, true, strings.Repeat("0123456789abcé", 1<<10)), KindText)
	})
	b.Run("greek", func(b *testing.B) {
		benchDecode(b, cf(OpText, true, strings.Repeat("κόσμε", 16<<10/10)), KindText)
	})
}

func BenchmarkDecodeFragmented(b *testing.B) {
	const frag = 1 << 10
	part := strings.Repeat("fragment", frag/8)
	stream := cat(
		cf(OpText, false, part),
		cf(OpContinuation, false, part),
		cf(OpContinuation, false, part),
		cf(OpContinuation, true, part))
	var d Decoder
	d.Init(&DecoderConfig{})
	buf := make([]byte, len(stream))
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	b.ResetTimer()
	for b.Loop() {
		copy(buf, stream)
		p := buf
		for {
			msg, n, err := d.Decode(p)
			if err != nil || n == 0 {
				b.Fatalf(
					"n=%d err=%v",
					n, err)
			}
			p = p[n:]
			if msg.Kind == KindText {
				break
			}
		}
		d.Recycle()
	}
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, size := range []int{125, 16 << 10} {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			payload := make([]byte, size)
			buf := make([]byte, 0, size+MaxHeaderSize)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				buf = AppendFrame(buf[:0], OpBinary, payload)
			}
		})
	}
}

func BenchmarkPutHeader(b *testing.B) {
	var h [MaxHeaderSize]byte
	b.ReportAllocs()
	for b.Loop() {
		PutHeader(h[:], true, 0, OpBinary, 70000, nil)
	}
}

func BenchmarkNewPreparedFrame(b *testing.B) {
	payload := make([]byte, 1<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		NewPreparedFrame(OpText, payload)
	}
}

var utf8BenchInputs = []struct {
	name string
	data []byte
}{
	{name: "ascii16K", data: []byte(strings.Repeat("0123456789abcdef", 1<<10))},
	{name: "mixed16K", data: []byte(strings.Repeat("0123456789abcé", 1<<10))},
	{name: "greek16K", data: []byte(strings.Repeat("κόσμε", 16<<10/10))},
	{name: "ascii32", data: []byte(strings.Repeat("0123456789abcdef", 2))},
}

// BenchmarkUTF8 measures the validator, in one write and in 4 fragments
// cut inside code points, against the DFA alone and unicode/utf8.Valid:
// the figures behind utf8Run's use of utf8.Valid.
func BenchmarkUTF8(b *testing.B) {
	for _, in := range utf8BenchInputs {
		b.Run("validator/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				var v UTF8Validator
				if !v.Write(in.data) || !v.Complete() {
					b.Fatal("invalid")
				}
			}
		})
		b.Run("validator4frags/"+in.name, func(b *testing.B) {
			q := len(in.data)/4 + 1 // odd cut points, inside code points
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				var v UTF8Validator
				for p := in.data; len(p) > 0; p = p[min(q, len(p)):] {
					if !v.Write(p[:min(q, len(p))]) {
						b.Fatal("invalid")
					}
				}
				if !v.Complete() {
					b.Fatal("unfinished")
				}
			}
		})
		b.Run("dfa/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				s := utf8Accept
				for _, c := range in.data {
					s = utf8Next[s][c]
				}
				if s != utf8Accept {
					b.Fatal("invalid")
				}
			}
		})
		b.Run("stdlib/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				if !utf8.Valid(in.data) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
