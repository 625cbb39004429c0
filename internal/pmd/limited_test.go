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
	return zlibInflatesDict(t, z, nil, want, bits)
}

// zlibInflatesDict is zlibInflates with the inflater primed with dict, as
// a peer's is by the messages before under context takeover.
func zlibInflatesDict(t *testing.T, z, dict, want []byte, bits int) bool {
	t.Helper()
	const script = `import sys, zlib
bits, n = int(sys.argv[1]), int(sys.argv[2])
data = sys.stdin.buffer.read()
zdict, data = data[:n], data[n:]
d = zlib.decompressobj(wbits=-bits, zdict=zdict) if n else zlib.decompressobj(wbits=-bits)
try:
    out = d.decompress(data + b"\x00\x00\xff\xff")
except zlib.error as e:
    print("zlib:", e); sys.exit(3)
sys.stdout.buffer.write(out)
`
	cmd := exec.Command("/usr/bin/python3", "-c", script, strconv.Itoa(bits), strconv.Itoa(len(dict)))
	cmd.Stdin = bytes.NewReader(append(append([]byte{}, dict...), z...))
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

// DeflateWithin under context takeover: every message round-trips with
// its history, and no reference reaches further back than the window. The
// history deeper than the window allows is replaced with other bytes for
// the inflater: a reference into it would yield the wrong output.
func TestDeflateWithin(t *testing.T) {
	hist := farRepeats(32 << 10)
	other := bytes.Repeat([]byte{0x5a}, len(hist))
	for _, bits := range []int{9, 10, 12, 14, 15} {
		w := 1 << bits
		for _, size := range []int{100, w / 2, w - 1, w, w + 1, 3 * w, 40 << 10} {
			// The message repeats the history's start: an unbounded
			// compressor would refer back to it from afar.
			m := append(append([]byte{}, hist[size%97:][:min(size, len(hist)-size%97)]...), make([]byte, max(0, size-len(hist)+size%97))...)[:size]
			dict := hist[len(hist)-min(w, len(hist)):]
			if bits < 15 {
				dict = hist[len(hist)-w+w/4:] // shorter than the window too
			}
			z := DeflateWithin([]byte("pre"), m, dict, bits, 1)
			if string(z[:3]) != "pre" {
				t.Fatal("dst prefix lost")
			}
			out, err := Inflate(nil, z[3:], dict, len(m))
			if err != nil || !bytes.Equal(out, m) {
				t.Fatalf("bits %d size %d: round trip: %v", bits, size, err)
			}
			if bits == 15 {
				continue
			}
			// The only history a reference may reach from the message's
			// first byte: its last w bytes; from its last byte, the last
			// w-size (when the message fits the window).
			reach := w
			if size <= w {
				reach = w - size
			}
			masked := append(append([]byte{}, other[:max(0, len(dict)-reach)]...), dict[max(0, len(dict)-reach):]...)
			if out, err := Inflate(nil, z[3:], masked, len(m)); err != nil || !bytes.Equal(out, m) {
				t.Fatalf("bits %d size %d: a reference reached history beyond the window (%v)", bits, size, err)
			}
		}
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3 for the zlib window check")
	}
	msg := farRepeats(64 << 10)
	for _, bits := range []int{9, 12} {
		dict := hist[len(hist)-(1<<bits):]
		if !zlibInflatesDict(t, DeflateWithin(nil, msg, dict, bits, 1), dict, msg, bits) {
			t.Errorf("bits %d: zlib with a 2^%d window and the history refused DeflateWithin's output", bits, bits)
		}
	}
}
