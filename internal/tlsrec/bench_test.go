package tlsrec

import (
	"bytes"
	"testing"
)

// BenchmarkSeal seals one 64-byte record per op with the Cipher kept
// (a hit in the engine's per-loop cache) and with the Cipher rebuilt
// from the Direction each time (a miss), for every suite.
func BenchmarkSeal(b *testing.B) {
	for _, s := range suites {
		for _, miss := range []bool{false, true} {
			name := "hit"
			if miss {
				name = "miss"
			}
			b.Run(suiteName(s.id)+"/"+name, func(b *testing.B) {
				var d Direction
				if err := d.Init(s.id, bytes.Repeat([]byte{7}, s.hashLen), 0); err != nil {
					b.Fatal(err)
				}
				var c Cipher
				msg := make([]byte, 64)
				dst := make([]byte, 0, 256)
				b.ReportAllocs()
				for b.Loop() {
					if miss {
						c.Reset()
					}
					var err error
					if dst, err = Seal(&d, &c, dst[:0], TypeApplicationData, msg, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func suiteName(id uint16) string {
	switch id {
	case 0x1301:
		return "AES128GCM"
	case 0x1302:
		return "AES256GCM"
	default:
		return "CHACHA20"
	}
}
