package codec

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// fakeLarge is a LargeBuffers on the heap that checks its contract: every
// buffer Get returned comes back once, and Put gets it whole.
type fakeLarge struct {
	mu   sync.Mutex
	out  map[*byte]int // buffer start -> capacity
	gets int
	puts int
}

func newFakeLarge() *fakeLarge { return &fakeLarge{out: map[*byte]int{}} }

func (f *fakeLarge) Get(size int) []byte {
	b := make([]byte, 0, size)
	f.mu.Lock()
	f.out[unsafe.SliceData(b)] = size
	f.gets++
	f.mu.Unlock()
	return b
}

func (f *fakeLarge) Put(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.out[unsafe.SliceData(b)]
	if !ok || c != cap(b) {
		panic("fakeLarge: Put of a buffer not from Get, or resliced")
	}
	delete(f.out, unsafe.SliceData(b))
	f.puts++
}

func (f *fakeLarge) outstanding() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.out)
}

// feedSizes decodes stream given in chunks of the sizes listed (the last
// size repeats), as an event loop would: unconsumed bytes are kept and
// prepended to the next chunk.
func feedSizes(t *testing.T, d *Decoder, stream []byte, sizes ...int) []event {
	t.Helper()
	var events []event
	var in []byte
	for i := 0; len(stream) > 0; i++ {
		n := min(sizes[min(i, len(sizes)-1)], len(stream))
		in = append(in, stream[:n]...)
		stream = stream[n:]
		for {
			msg, k, err := d.Decode(in)
			if err != nil {
				return append(events, failed(err))
			}
			if k == 0 {
				break
			}
			if msg.Kind != KindNone {
				events = append(events, toEvent(msg))
			}
			in = in[k:]
		}
		in = append([]byte(nil), in...)
	}
	return events
}

func TestStreamChunkings(t *testing.T) {
	big := strings.Repeat("0123456789abcdé", 20000) // ~320 KB, multi-byte runes
	stream := cat(
		cf(OpText, true, big),
		cf(OpBinary, false, big[:70000]),
		cf(OpPing, true, "between"),
		cf(OpContinuation, false, ""),
		cf(OpContinuation, true, big[70000:]),
		cf(OpText, true, "small"),
	)
	want := []event{text(big), ping("between"), binMsg(big), text("small")}
	for _, sizes := range [][]int{{len(stream)}, {1}, {2}, {3}, {5}, {7}, {13}, {4096}, {65536}, {100, 1, 70001, 3}} {
		for _, large := range []bool{false, true} {
			cfg := &DecoderConfig{Budget: NewBudget(1 << 20)}
			fl := newFakeLarge()
			if large {
				cfg.Large = fl
			}
			var d Decoder
			d.Init(cfg)
			got := feedSizes(t, &d, append([]byte(nil), stream...), sizes...)
			checkEvents(t, got, want)
			d.Release()
			if cfg.Budget.Used() != 0 || fl.outstanding() != 0 {
				t.Fatalf("sizes %v large %v: budget %d and %d large buffers left", sizes, large, cfg.Budget.Used(), fl.outstanding())
			}
			// The fragmented message always takes one; the one-frame
			// message too unless it arrived whole (then it is not copied).
			if wantGets := 2 - sizes[0]/len(stream); large && fl.gets != wantGets {
				t.Fatalf("sizes %v: %d large buffers taken, want %d", sizes, fl.gets, wantGets)
			}
			if peak := cfg.Budget.Peak(); peak > int64(len(big))+100 {
				t.Fatalf("sizes %v: peak %d bytes held, more than one message", sizes, peak)
			}
		}
	}
}

// TestStreamUTF8FailsEarly: an invalid byte in a text frame fails the
// decoder with the chunk that brings it, long before the frame ends.
func TestStreamUTF8FailsEarly(t *testing.T) {
	payload := []byte(strings.Repeat("é", 50000))
	for _, at := range []int{0, 1, 999, 50001, 99999} {
		p := append([]byte(nil), payload...)
		p[at] = 0xff
		stream := cf(OpText, true, string(p))
		var d Decoder
		d.Init(&clientConfig)
		fed := 0
		var in []byte
		for fed < len(stream) {
			n := min(1000, len(stream)-fed)
			in = append(in, stream[fed:fed+n]...)
			fed += n
			_, k, err := d.Decode(in)
			if err == ErrInvalidUTF8 {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			in = append([]byte(nil), in[k:]...)
		}
		if limit := at + 14 + 1000; fed > limit {
			t.Fatalf("invalid byte at %d: failed after %d bytes, want <= %d", at, fed, limit)
		}
		if _, _, err := d.Decode(nil); err != ErrInvalidUTF8 {
			t.Fatalf("invalid byte at %d: %v", at, err)
		}
	}
}

// TestStreamBudget: decoders sharing a budget fail with ErrOverBudget when
// their next bytes would pass it; the bytes of the failed message are given
// back; others continue.
func TestStreamBudget(t *testing.T) {
	b := NewBudget(100 << 10)
	cfg := &DecoderConfig{Budget: b, Large: newFakeLarge()}
	var d1, d2, d3 Decoder
	d1.Init(cfg)
	d2.Init(cfg)
	d3.Init(cfg)
	frame := cf(OpBinary, true, strings.Repeat("x", 60<<10))
	part := frame[:len(frame)-1] // all but the last byte
	if _, n, err := d1.Decode(append([]byte(nil), part...)); err != nil || n != len(part) {
		t.Fatalf("d1: n=%d err=%v", n, err)
	}
	if b.Used() != 60<<10-1 {
		t.Fatalf("used %d after d1", b.Used())
	}
	if _, _, err := d2.Decode(append([]byte(nil), part...)); err != ErrOverBudget {
		t.Fatalf("d2: %v, want ErrOverBudget", err)
	}
	if err := ErrOverBudget; err.Code != CloseTryAgainLater {
		t.Fatalf("ErrOverBudget closes with %d", err.Code)
	}
	if b.Used() != 60<<10-1 || b.Refused() != 1 {
		t.Fatalf("after refusal: used %d refused %d", b.Used(), b.Refused())
	}
	// A one-frame message that arrives whole is never buffered, so it
	// passes whatever the budget.
	if msg, _, err := d3.Decode(append([]byte(nil), frame...)); err != nil || len(msg.Payload) != 60<<10 {
		t.Fatalf("d3 whole frame: %v", err)
	}
	msg, _, err := d1.Decode(frame[len(frame)-1:])
	if err != nil || len(msg.Payload) != 60<<10 {
		t.Fatalf("d1 last byte: %v", err)
	}
	d1.Recycle()
	if b.Used() != 0 {
		t.Fatalf("used %d after the message was handled", b.Used())
	}
	if b.Peak() != 60<<10 {
		t.Fatalf("peak %d", b.Peak())
	}
	if NewBudget(0).Limit() <= 1<<62 {
		t.Fatal("NewBudget(0) is not unlimited")
	}
}

// TestStreamLargeAndDetach: a message past the small size moves to a
// buffer from Large, which goes back after the message; Detach hands it
// over instead.
func TestStreamLargeAndDetach(t *testing.T) {
	fl := newFakeLarge()
	b := NewBudget(0)
	cfg := &DecoderConfig{Large: fl, Budget: b, smallMax: 1000}
	var d Decoder
	d.Init(cfg)
	body := strings.Repeat("y", 5000)
	msg, _, err := d.Decode(cf(OpBinary, false, body[:600]))
	if err != nil || msg.Kind != KindNone || fl.gets != 0 {
		t.Fatalf("first fragment: %v gets=%d", err, fl.gets)
	}
	msg, _, err = d.Decode(cf(OpContinuation, true, body[600:]))
	if err != nil || string(msg.Payload) != body || fl.gets != 1 || cap(msg.Payload) != int(DefaultMaxMessageSize) {
		t.Fatalf("last fragment: %v gets=%d cap=%d", err, fl.gets, cap(msg.Payload))
	}
	if _, ok := d.Detach(msg.Payload[1:]); ok {
		t.Fatal("Detach of part of the payload")
	}
	buf, ok := d.Detach(msg.Payload)
	if !ok || &buf[0] != &msg.Payload[0] || b.Used() != 0 {
		t.Fatalf("Detach: ok=%v used=%d", ok, b.Used())
	}
	if _, ok := d.Detach(msg.Payload); ok {
		t.Fatal("Detach twice")
	}
	d.Recycle()
	if fl.puts != 0 || !bytes.Equal(buf, []byte(body)) {
		t.Fatal("the decoder gave back or changed a detached buffer")
	}
	fl.Put(buf)
	// Without Detach the buffer goes back at the next call.
	d.Decode(cf(OpBinary, true, body)[:2000]) // streamed: 5000 declared > 1000
	if fl.gets != 2 {
		t.Fatalf("gets=%d: a declared large frame did not take a large buffer at once", fl.gets)
	}
	d.Release()
	if fl.outstanding() != 0 || b.Used() != 0 {
		t.Fatalf("after Release: %d outstanding, %d used", fl.outstanding(), b.Used())
	}
}

// FuzzDecoderMemory feeds the same input in chunks to a decoder with a
// small budget and large buffers: its events are those of a decoder
// without them, up to an ErrOverBudget; the budget is never passed; and
// Release gives every byte and buffer back.
func FuzzDecoderMemory(f *testing.F) {
	f.Add(cat(cf(OpText, false, strings.Repeat("a", 300)), cf(OpContinuation, true, "b")), []byte{7, 100}, uint16(200), uint8(50))
	f.Add(cf(OpBinary, true, strings.Repeat("z", 2000)), []byte{3}, uint16(5000), uint8(1))
	f.Add(cat(cf(OpText, true, "é"), cf(OpBinary, false, "x"), cf(OpPing, true, ""), cf(OpContinuation, true, strings.Repeat("y", 999))), []byte{1, 2, 3}, uint16(0), uint8(10))
	f.Fuzz(func(t *testing.T, data, sizes []byte, budget uint16, small uint8) {
		plain := fuzzFeed(t, &DecoderConfig{}, 0, fuzzChunks(data, sizes))
		fl := newFakeLarge()
		cfg := &DecoderConfig{Budget: NewBudget(int64(budget) + 1), Large: fl, smallMax: int(small) + 1}
		var d Decoder
		d.Init(cfg)
		var got []event
		var in []byte
		for _, c := range fuzzChunks(data, sizes) {
			in = append(in, c...)
			for {
				msg, n, err := d.Decode(in)
				if used := cfg.Budget.Used(); used > int64(budget)+1 || used < 0 {
					t.Fatalf("budget holds %d of %d", used, budget+1)
				}
				if err != nil {
					got = append(got, failed(err))
					break
				}
				if n == 0 {
					break
				}
				if msg.Kind != KindNone {
					got = append(got, toEvent(msg))
				}
				in = in[n:]
			}
			if len(got) > 0 && got[len(got)-1].Err != nil {
				break
			}
			in = append([]byte(nil), in...)
		}
		d.Release()
		if cfg.Budget.Used() != 0 || fl.outstanding() != 0 {
			t.Fatalf("after Release: budget %d, %d large buffers out", cfg.Budget.Used(), fl.outstanding())
		}
		for i := range got {
			if got[i].Err == ErrOverBudget {
				break
			}
			if i >= len(plain) || got[i] != plain[i] {
				t.Fatalf("event %d: %v, without budget %v", i, got, plain)
			}
		}
	})
}

// TestRoomWrote: a frame's payload written straight into Room and
// committed with Wrote decodes as if it had come through Decode, masked
// and split anywhere; Wrote enforces the budget and text checks.
func TestRoomWrote(t *testing.T) {
	body := strings.Repeat("κόσμε-", 30000) // 330 KB of text
	frame := cf(OpText, true, body)
	_, hdr, _ := ParseHeader(frame)
	for _, first := range []int{hdr, hdr + 1, hdr + 3, hdr + 70000} {
		for _, chunk := range []int{1, 5, 4096, 1 << 20} {
			fl := newFakeLarge()
			cfg := &DecoderConfig{Large: fl, Budget: NewBudget(0)}
			var d Decoder
			d.Init(cfg)
			if d.Room(100) != nil {
				t.Fatal("Room with no frame in progress")
			}
			_, n, err := d.Decode(append([]byte(nil), frame[:first]...))
			if err != nil || n != first {
				t.Fatalf("header: n=%d err=%v", n, err)
			}
			rest := frame[first:]
			var msg Message
			for len(rest) > 0 {
				room := d.Room(chunk)
				if len(room) == 0 || len(room) > chunk || len(room) > len(rest) {
					t.Fatalf("first %d chunk %d: room %d with %d left", first, chunk, len(room), len(rest))
				}
				k := copy(room, rest)
				rest = rest[k:]
				msg, err = d.Wrote(k)
				if err != nil {
					t.Fatal(err)
				}
			}
			if msg.Kind != KindText || string(msg.Payload) != body {
				t.Fatalf("first %d chunk %d: %v, %d bytes", first, chunk, msg.Kind, len(msg.Payload))
			}
			if d.Room(100) != nil {
				t.Fatal("Room after the frame ended")
			}
			d.Release()
			if fl.outstanding() != 0 || cfg.Budget.Used() != 0 {
				t.Fatal("buffers or budget left after Release")
			}
		}
	}

	// Invalid UTF-8 and the budget fail Wrote; misuse panics.
	bad := []byte(body)
	bad[100000] = 0xff
	for _, tc := range []struct {
		payload []byte
		budget  int64
		want    error
	}{
		{bad, 0, ErrInvalidUTF8},
		{[]byte(body), 200000, ErrOverBudget},
	} {
		var d Decoder
		d.Init(&DecoderConfig{Large: newFakeLarge(), Budget: NewBudget(tc.budget)})
		f := cf(OpText, true, string(tc.payload))
		d.Decode(append([]byte(nil), f[:hdr]...))
		var err error
		for rest := f[hdr:]; len(rest) > 0 && err == nil; {
			k := copy(d.Room(65536), rest)
			rest = rest[k:]
			_, err = d.Wrote(k)
		}
		if err != tc.want {
			t.Fatalf("got %v, want %v", err, tc.want)
		}
		if d.Room(10) != nil {
			t.Fatal("Room after an error")
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Wrote without Room did not panic")
			}
		}()
		var d Decoder
		d.Init(&clientConfig)
		d.Wrote(1)
	}()
}

// TestBudgetTakeGive: bytes held by a layer after the decoder share the
// decoders' budget.
func TestBudgetTakeGive(t *testing.T) {
	b := NewBudget(100)
	for _, step := range []struct {
		take, give int
		ok         bool
		used, peak int64
		avail      int64
	}{
		{take: 60, ok: true, used: 60, peak: 60, avail: 40},
		{take: 41, ok: false, used: 60, peak: 60, avail: 40},
		{take: 40, ok: true, used: 100, peak: 100, avail: 0},
		{give: 100, used: 0, peak: 100, avail: 100},
	} {
		if step.take > 0 {
			if ok := b.Take(step.take); ok != step.ok {
				t.Fatalf("Take(%d) = %v", step.take, ok)
			}
		} else {
			b.Give(step.give)
		}
		if b.Used() != step.used || b.Peak() != step.peak || b.Available() != step.avail {
			t.Fatalf("after %+v: used %d peak %d avail %d", step, b.Used(), b.Peak(), b.Available())
		}
	}
	if b.Refused() != 1 {
		t.Fatalf("refused %d", b.Refused())
	}
}
