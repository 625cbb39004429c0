package pmd

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// jsonMsg builds a deterministic JSON document of n bytes: market ticks and
// chat lines, like a dashboard or feed sends.
func jsonMsg(n int, seed int) []byte {
	syms := []string{"BTC-USD", "ETH-USD", "SOL-USD", "AAPL", "MSFT"}
	users := []string{"alice", "bob", "carol", "dave"}
	b := []byte(`{"type":"batch","items":[`)
	for i := seed; len(b) < n; i++ {
		if i > seed {
			b = append(b, ',')
		}
		if i%2 == 0 {
			b = fmt.Appendf(b, `{"sym":"%s","px":%d.%02d,"qty":%d,"side":"%s","ts":%d}`,
				syms[i%5], 100+i*7%900, i*13%100, 1+i*31%500, []string{"buy", "sell"}[i/2%2], 1732990000000+int64(i)*17)
		} else {
			b = fmt.Appendf(b, `{"user":"%s","room":"general","text":"message %d from %s","id":%d}`,
				users[i%4], i, users[(i+1)%4], 9000+i)
		}
	}
	return b[:n]
}

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"1B", []byte("x")},
		{"hello", []byte("Hello")},
		{"json100", jsonMsg(100, 0)},
		{"json1K", jsonMsg(1024, 0)},
		{"json16K", jsonMsg(16<<10, 0)},
		{"json256K", jsonMsg(256<<10, 0)},
		{"random4K", randBytes(4096, 1)},
		{"random100K", randBytes(100<<10, 2)},
		{"zeros1M", make([]byte, 1<<20)},
	} {
		for _, dict := range [][]byte{nil, jsonMsg(4096, 7), randBytes(1<<15, 3)} {
			t.Run(fmt.Sprintf("%s/dict%d", tc.name, len(dict)), func(t *testing.T) {
				z := Deflate(nil, tc.msg, dict)
				if len(tc.msg) == 0 && !bytes.Equal(z, []byte{0}) {
					t.Errorf("empty message compresses to %x, want 00 (RFC 7692 §7.2.3.6)", z)
				}
				for _, dst := range [][]byte{nil, make([]byte, 3, 10), make([]byte, 0, len(tc.msg))} {
					prefix := append([]byte(nil), dst...)
					got, err := Inflate(dst, z, dict, len(tc.msg))
					if err != nil || !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], tc.msg) {
						t.Fatalf("Inflate: err %v, %d bytes, want %d", err, len(got)-len(prefix), len(tc.msg))
					}
				}
				if len(tc.msg) > 0 {
					if _, err := Inflate(nil, z, dict, len(tc.msg)-1); err != ErrTooLarge {
						t.Fatalf("limit len-1: err %v, want ErrTooLarge", err)
					}
				}
			})
		}
	}
}

// TestRFC7692Vectors inflates the examples of RFC 7692 §7.2.3.
func TestRFC7692Vectors(t *testing.T) {
	hello := []byte("Hello")
	for _, tc := range []struct {
		name    string
		payload []byte
		dict    []byte
	}{
		{"7.2.3.1 one message", []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, nil},
		{"7.2.3.2 second message, shared window", []byte{0xf2, 0x00, 0x11, 0x00, 0x00}, hello},
		{"7.2.3.3 stored block", []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, nil},
		{"7.2.3.4 BFINAL set", []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, nil},
		{"7.2.3.5 two blocks", []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Inflate(nil, tc.payload, tc.dict, 1<<10)
			if err != nil || string(got) != "Hello" {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	// §7.2.3.2: the first message fills the window the second refers to.
	var in Window
	in.Init(1 << 15)
	for i, p := range [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, {0xf2, 0x00, 0x11, 0x00, 0x00}} {
		got, err := Inflate(nil, p, in.Bytes(), 64)
		if err != nil || string(got) != "Hello" {
			t.Fatalf("message %d: %q, %v", i, got, err)
		}
		in.Append(got)
	}
	// §7.2.3.6: an empty message.
	if got, err := Inflate(nil, []byte{0x00}, nil, 0); err != nil || len(got) != 0 {
		t.Fatalf("empty: %q, %v", got, err)
	}
}

// TestContextTakeover compresses a sequence of messages with each side's
// Window, as a connection does, and checks the dictionary pays off.
func TestContextTakeover(t *testing.T) {
	for _, size := range []int{512, 4096, 1 << 15} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var out, in Window
			out.Init(size)
			in.Init(size)
			var plain, ctx, alone int
			for i := 0; i < 50; i++ {
				msg := jsonMsg(300+i*37%2000, i)
				z := Deflate(nil, msg, out.Bytes())
				out.Append(msg)
				got, err := Inflate(nil, z, in.Bytes(), 1<<20)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("message %d: err %v", i, err)
				}
				in.Append(got)
				plain, ctx, alone = plain+len(msg), ctx+len(z), alone+len(Deflate(nil, msg, nil))
			}
			if len(out.Bytes()) != size || !bytes.Equal(out.Bytes(), in.Bytes()) {
				t.Fatalf("windows %d and %d bytes, want %d equal", len(out.Bytes()), len(in.Bytes()), size)
			}
			if ctx >= alone {
				t.Fatalf("context takeover %d bytes, alone %d", ctx, alone)
			}
			t.Logf("window %d: %d plain bytes, %d alone (%.1f×), %d with context takeover (%.1f×)",
				size, plain, alone, float64(plain)/float64(alone), ctx, float64(plain)/float64(ctx))
		})
	}
}

func TestWindow(t *testing.T) {
	var w Window
	if w.Append([]byte("abc")); w.Bytes() != nil {
		t.Fatal("zero window keeps history")
	}
	w.Init(8)
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"}, {"", "abc"}, {"defgh", "abcdefgh"}, {"ij", "cdefghij"}, {"0123456789", "23456789"}, {"x", "3456789x"},
	} {
		w.Append([]byte(tc.in))
		if string(w.Bytes()) != tc.want || cap(w.Bytes()) != 8 {
			t.Fatalf("after %q: %q (cap %d), want %q", tc.in, w.Bytes(), cap(w.Bytes()), tc.want)
		}
	}
	w.Reset()
	if len(w.Bytes()) != 0 {
		t.Fatal("Reset kept history")
	}
	w.Release()
	if w.Bytes() != nil {
		t.Fatal("Release kept the buffer")
	}
	if w.Init(1 << 20); w.Size() != 1<<15 {
		t.Fatalf("size %d, want clamped to 32 KiB", w.Size())
	}
}

// Slide is Append on a caller's array: the same history, in place, with
// no allocation.
func TestSlide(t *testing.T) {
	buf := make([]byte, 8)
	hist := buf[:0]
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"}, {"", "abc"}, {"defgh", "abcdefgh"}, {"ij", "cdefghij"}, {"0123456789", "23456789"}, {"x", "3456789x"},
	} {
		hist = Slide(hist, []byte(tc.in))
		if string(hist) != tc.want || cap(hist) != 8 || &hist[0] != &buf[0] {
			t.Fatalf("after %q: %q (cap %d), want %q in place", tc.in, hist, cap(hist), tc.want)
		}
	}
	if got := Slide(nil, []byte("abc")); len(got) != 0 {
		t.Fatalf("no window keeps %q", got)
	}
	msg := []byte("0123456789")
	if n := testing.AllocsPerRun(100, func() { hist = Slide(hist, msg[:3]) }); n != 0 {
		t.Fatalf("%.1f allocations per Slide", n)
	}
}

// TestNoCrossTalk interleaves connections with different windows on the
// same pooled (de)compressors: each message inflates only with its own
// connection's history, and a message compressed without a dictionary right
// after one with a dictionary does not refer to it.
func TestNoCrossTalk(t *testing.T) {
	const conns = 4
	var out, in [conns]Window
	for i := range conns {
		out[i].Init(4096)
		in[i].Init(4096)
		out[i].Append(randBytes(4096, uint64(i)))
		in[i].Append(out[i].Bytes())
	}
	for round := 0; round < 20; round++ {
		for i := range conns {
			msg := append(append([]byte(nil), out[i].Bytes()[100:900]...), jsonMsg(200, round)...)
			z := Deflate(nil, msg, out[i].Bytes())
			if len(z) > 600 {
				t.Fatalf("conn %d: %d bytes: its dictionary was not used", i, len(z))
			}
			alone := Deflate(nil, msg, nil)
			if got, err := Inflate(nil, alone, nil, 1<<20); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("conn %d: a dictionary leaked into a compression without one: %v", i, err)
			}
			other := &in[(i+1)%conns]
			if got, err := Inflate(nil, z, other.Bytes(), 1<<20); err == nil && bytes.Equal(got, msg) {
				t.Fatalf("conn %d: inflated with another connection's window", i)
			}
			got, err := Inflate(nil, z, in[i].Bytes(), 1<<20)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("conn %d round %d: %v", i, round, err)
			}
			out[i].Append(msg)
			in[i].Append(got)
		}
	}
}

func TestInflateCorrupt(t *testing.T) {
	z := Deflate(nil, jsonMsg(2000, 0), nil)
	for _, tc := range []struct {
		name string
		p    []byte
	}{
		{"reserved block type", []byte{0x07, 0x00}},
		{"stored length mismatch", []byte{0x00, 0x05, 0x00, 0x00, 0x00}},
		{"truncated", z[:len(z)/2]},
		{"distance before start", []byte{0xf2, 0x00, 0x11, 0x00, 0x00}}, // §7.2.3.2 without its window
	} {
		if _, err := Inflate(nil, tc.p, nil, 1<<20); err != ErrCorrupt {
			t.Errorf("%s: err %v, want ErrCorrupt", tc.name, err)
		}
	}
}

// bomb returns a payload of a few MB that inflates to n MiB of zeros: the
// first sync-flushed MiB, then the next one repeated (once the window is
// all zeros, every further MiB compresses to the same bytes).
func bomb(t testing.TB, mib int) []byte {
	zeros := make([]byte, 1<<20)
	var out Window
	out.Init(1 << 15)
	first := Deflate(nil, zeros, nil)
	out.Append(zeros)
	next := Deflate(nil, zeros, out.Bytes())
	if again := Deflate(nil, zeros, out.Bytes()); !bytes.Equal(again, next) {
		t.Fatal("repeated MiB compresses differently")
	}
	p := append([]byte(nil), first...)
	p = append(p, 0, 0, 0xff, 0xff) // the sync-flush tail Deflate stripped
	for i := 1; i < mib; i++ {
		p = append(p, next...)
		if i < mib-1 {
			p = append(p, 0, 0, 0xff, 0xff)
		}
	}
	return p
}

// TestBomb: a payload that inflates to 4 GiB stops at the limit, fast, with
// the output buffer never larger than the limit.
func TestBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 4 MB payload")
	}
	p := bomb(t, 4096)
	// The construction is sound: a small bomb inflates fully.
	if got, err := Inflate(nil, bomb(t, 3), nil, 3<<20); err != nil || len(got) != 3<<20 || bytes.IndexFunc(got, func(r rune) bool { return r != 0 }) >= 0 {
		t.Fatalf("3 MiB bomb: %d bytes, %v", len(got), err)
	}
	const limit = 1 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	got, err := Inflate(nil, p, nil, limit)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != ErrTooLarge || len(got) != limit {
		t.Fatalf("%d-byte bomb: %d bytes, %v; want the limit and ErrTooLarge", len(p), len(got), err)
	}
	if cap(got) > limit {
		t.Fatalf("buffer grew to %d, past the limit %d", cap(got), limit)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*limit {
		t.Fatalf("allocated %d bytes for a %d limit", alloc, limit)
	}
	if took > 2*time.Second {
		t.Fatalf("took %v", took)
	}
	t.Logf("%d-byte payload claiming 4 GiB stopped at %d bytes in %v", len(p), len(got), took)

	// A buffer with room for the limit is never reallocated.
	buf := make([]byte, 0, limit)
	got, err = Inflate(buf, p, nil, limit)
	if err != ErrTooLarge || &got[0] != &buf[:1][0] {
		t.Fatalf("err %v, reallocated %v", err, &got[0] != &buf[:1][0])
	}
}

// TestInflateGrowth: output grows with the bytes produced, not the limit.
func TestInflateGrowth(t *testing.T) {
	z := Deflate(nil, []byte("Hello"), nil)
	got, err := Inflate(nil, z, nil, 1<<40)
	if err != nil || string(got) != "Hello" || cap(got) > 4096 {
		t.Fatalf("%q cap %d, %v", got, cap(got), err)
	}
	if got, err := Inflate(nil, z, nil, 0); err != ErrTooLarge || len(got) != 0 {
		t.Fatalf("limit 0: %q %v", got, err)
	}
}

func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	msg := jsonMsg(1024, 0)
	var w Window
	w.Init(4096)
	w.Append(jsonMsg(4096, 3))
	z := Deflate(nil, msg, w.Bytes())
	zbuf := make([]byte, 0, 2*len(msg))
	pbuf := make([]byte, 0, 2*len(msg))
	Deflate(zbuf, msg, w.Bytes()) // warm the pools
	Inflate(pbuf, z, w.Bytes(), 1<<20)
	if n := testing.AllocsPerRun(50, func() {
		zbuf = Deflate(zbuf[:0], msg, w.Bytes())
		var err error
		if pbuf, err = Inflate(pbuf[:0], z, w.Bytes(), 1<<20); err != nil {
			t.Fatal(err)
		}
		w.Append(msg)
	}); n > 0 {
		t.Fatalf("%v allocations per message round trip, want 0", n)
	}
}

// Every level round-trips with and without a dictionary; a stronger level
// compresses a context-takeover sequence no worse than level 1; a level
// out of range is Level; each level compresses with no allocation once
// its pool is warm.
func TestDeflateLevels(t *testing.T) {
	total := map[int]int{}
	for level := MinLevel; level <= MaxLevel; level++ {
		var out, in Window
		out.Init(4096)
		in.Init(4096)
		for i := 0; i < 30; i++ {
			msg := jsonMsg(200+i*431%17000, i)
			dict := out.Bytes()
			if i%5 == 4 {
				dict = nil // alone, as a broadcast
			}
			z := DeflateLevel(nil, msg, dict, level)
			idict := in.Bytes()
			if dict == nil {
				idict = nil
			}
			got, err := Inflate(nil, z, idict, 1<<20)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("level %d message %d: %v", level, i, err)
			}
			if dict != nil {
				out.Append(msg)
				in.Append(got)
			}
			total[level] += len(z)
		}
	}
	t.Logf("bytes per level: %v", total)
	for level := MinLevel + 1; level <= MaxLevel; level++ {
		if total[level] > total[MinLevel] {
			t.Fatalf("level %d: %d bytes, more than level 1's %d", level, total[level], total[MinLevel])
		}
	}
	msg := jsonMsg(3000, 7)
	for _, bad := range []int{-1, 0, 10} {
		if !bytes.Equal(DeflateLevel(nil, msg, nil, bad), Deflate(nil, msg, nil)) {
			t.Fatalf("level %d is not Level", bad)
		}
	}
	if raceEnabled {
		return // sync.Pool drops items under -race
	}
	dict := jsonMsg(4096, 3)
	buf := make([]byte, 0, 4096)
	for _, level := range []int{MinLevel, 5, MaxLevel} {
		buf = DeflateLevel(buf[:0], msg, dict, level)
		if n := testing.AllocsPerRun(20, func() { buf = DeflateLevel(buf[:0], msg, dict, level) }); n > 0 {
			t.Fatalf("level %d: %v allocations per message", level, n)
		}
	}
}
