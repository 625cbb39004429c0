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

// BenchmarkUTF8 compares ValidUTF8 with unicode/utf8.Valid, which it
// replaces so that fragments can be checked with the same state machine.
func BenchmarkUTF8(b *testing.B) {
	inputs := []struct {
		name string
		data []byte
	}{
		{name: "ascii16K", data: []byte(strings.Repeat("0123456789abcdef", 1<<10))},
		{name: "mixed16K", data: []byte(strings.Repeat("0123456789abcé", 1<<10))},
		{name: "greek16K", data: []byte(strings.Repeat("κόσμε", 16<<10/10))},
		{name: "ascii32", data: []byte(strings.Repeat("0123456789abcdef", 2))},
	}
	for _, in := range inputs {
		b.Run("codec/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				if !ValidUTF8(in.data) {
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
