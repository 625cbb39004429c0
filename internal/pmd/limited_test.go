package pmd

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// farRepeats is n bytes in which a random 4 KiB block repeats: every
// match an unlimited compressor finds lies 4 KiB back.
func farRepeats(n int) []byte {
	block := make([]byte, 4<<10)
	rand.New(rand.NewSource(1)).Read(block)
	return bytes.Repeat(block, n/len(block)+1)[:n]
}

// zlibInflates reports whether Python's zlib, with a raw window of bits
// (as a peer that announced server_max_window_bits=bits inflates),
// accepts z (a permessage-deflate payload) and yields want.
func zlibInflates(t *testing.T, z, want []byte, bits int) bool {
	t.Helper()
	const script = `import sys, zlib
bits = int(sys.argv[1])
data = sys.stdin.buffer.read()
d = zlib.decompressobj(wbits=-bits)
try:
    out = d.decompress(data + b"\x00\x00\xff\xff")
except zlib.error as e:
    print("zlib:", e); sys.exit(3)
sys.stdout.buffer.write(out)
`
	cmd := exec.Command("/usr/bin/python3", "-c", script, strconv.Itoa(bits))
	cmd.Stdin = bytes.NewReader(z)
	out, err := cmd.Output()
	if err != nil {
		return false
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("zlib inflated %d bytes, want %d", len(out), len(want))
	}
	return true
}

func TestDeflateLimited(t *testing.T) {
	msg := farRepeats(64 << 10)
	for _, bits := range []int{8, 9, 10, 11, 12, 13, 14, 15} {
		for _, size := range []int{100, 256, 1 << 10, 16 << 10, 64 << 10} {
			m := msg[:size]
			z := DeflateLimited([]byte("pre"), m, bits)
			if string(z[:3]) != "pre" {
				t.Fatal("dst prefix lost")
			}
			out, err := Inflate(nil, z[3:], nil, len(m))
			if err != nil || !bytes.Equal(out, m) {
				t.Fatalf("bits %d size %d: round trip: %v", bits, size, err)
			}
		}
	}
	// What a windowed inflater reads. Python's zlib stands in for the
	// peer; skip without it.
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 for the zlib window check")
	}
	for _, bits := range []int{9, 10, 12} {
		if !zlibInflates(t, DeflateLimited(nil, msg, bits), msg, bits) {
			t.Errorf("bits %d: zlib with a 2^%d window refused DeflateLimited's output", bits, bits)
		}
		// The check has teeth: the unlimited compressor's output
		// refers 4 KiB back, past windows below 12 bits.
		if bits < 12 && zlibInflates(t, Deflate(nil, msg, nil), msg, bits) {
			t.Errorf("bits %d: zlib read an unlimited stream: the check proves nothing", bits)
		}
	}
}

func TestDeflateLimitedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	msg := farRepeats(32 << 10)
	dst := make([]byte, 0, 64<<10)
	DeflateLimited(dst, msg, 10) // warm the pool
	if n := testing.AllocsPerRun(50, func() { DeflateLimited(dst, msg, 10) }); n > 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
