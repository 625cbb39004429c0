package pmd

import (
	"bytes"
	"testing"
)

// The scrub stream is one dynamic-Huffman block (so inflating it rebuilds
// both code tables) that inflates to scrubPlain.
func TestScrubStream(t *testing.T) {
	if btype := scrubStream[0] >> 1 & 3; btype != 2 {
		t.Fatalf("scrub stream starts with block type %d, want 2 (dynamic Huffman)", btype)
	}
	got, err := Inflate(nil, scrubStream, nil, 1<<10)
	if err != nil || !bytes.Equal(got, scrubPlain()) {
		t.Fatalf("scrub stream inflates to %q, %v", got, err)
	}
	d := decompressors.Get().(*decompressor)
	if n := testing.AllocsPerRun(100, d.scrub); n != 0 {
		t.Fatalf("%v allocations per scrub", n)
	}
	decompressors.Put(d)
}

// A malformed payload that declares a code it then leaves empty must fail
// whatever was inflated before it, and never decode with the tables the
// previous message built (found by FuzzInflate: klauspost/compress keeps
// them; Inflate scrubs them).
func TestInflateNoStaleTables(t *testing.T) {
	bad := []byte("\xed\xc11\x11\x00\x00\x00\x02\xa1\xef\x9f\xda\x1a2101")
	befores := [][]byte{
		nil,
		[]byte("\xed\xc1\x31\x11\x00\x00\x00\x02\xa1\xef\x9f\xda\x1a\x32\x00\x30\x31"), // the malformed payload that left a table behind
		Deflate(nil, jsonMsg(3000, 1), nil),
		Deflate(nil, bytes.Repeat([]byte("secret-token-1234 "), 100), nil),
	}
	for i, before := range befores {
		if before != nil {
			_, _ = Inflate(nil, before, []byte("0"), 3977)
		}
		if out, err := Inflate(nil, bad, []byte("0"), 3977); err != ErrCorrupt {
			t.Fatalf("after input %d: %d bytes, %v; want ErrCorrupt", i, len(out), err)
		}
	}
}
