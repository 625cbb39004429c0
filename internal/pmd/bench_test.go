package pmd

import (
	"fmt"
	"testing"
)

// Benchmarks of the layer on typical JSON messages (jsonMsg: market ticks
// and chat lines) of 100 B, 1 KiB and 16 KiB, alone (no context takeover,
// broadcasts) and with a 4 KiB window (context takeover). "ratio" is plain
// bytes / compressed bytes. Run with:
//
//	go test ./internal/pmd -run '^$' -bench . -benchmem
//
// The std-versus-klauspost comparison that chose the implementation was run
// the same way on the same messages in a scratch module; figures in doc.go.
var benchSizes = []int{100, 1 << 10, 16 << 10}

func BenchmarkDeflate(b *testing.B) {
	for _, n := range benchSizes {
		for _, ctx := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dB/ctx=%v", n, ctx), func(b *testing.B) {
				msg := jsonMsg(n, 0)
				var w Window
				if ctx {
					w.Init(4096)
					w.Append(jsonMsg(4096, 1000))
				}
				dst := make([]byte, 0, 2*n+64)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					dst = Deflate(dst[:0], msg, w.Bytes())
				}
				b.ReportMetric(float64(n)/float64(len(dst)), "ratio")
			})
		}
	}
}

func BenchmarkInflate(b *testing.B) {
	for _, n := range benchSizes {
		for _, ctx := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dB/ctx=%v", n, ctx), func(b *testing.B) {
				msg := jsonMsg(n, 0)
				var w Window
				if ctx {
					w.Init(4096)
					w.Append(jsonMsg(4096, 1000))
				}
				z := Deflate(nil, msg, w.Bytes())
				dst := make([]byte, 0, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if dst, err = Inflate(dst[:0], z, w.Bytes(), n); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
