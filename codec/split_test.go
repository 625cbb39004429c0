package codec

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The split property: however a stream of frames is cut into reads, an
// event loop that accumulates bytes, calls Decode until need-more and
// discards what was consumed sees the same messages and the same error as
// when the whole stream arrives at once.

// streamBuilder appends client frames, each with its own mask so that a
// mask applied at the wrong offset shows.
type streamBuilder struct {
	rng  *rand.Rand
	data []byte
}

func newStreamBuilder(seed uint64) *streamBuilder {
	return &streamBuilder{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (s *streamBuilder) frame(op OpCode, fin bool, payload string) *streamBuilder {
	var mask [4]byte
	for i := range mask {
		mask[i] = byte(s.rng.Uint32())
	}
	s.data = AppendMaskedFrame(s.data, op, fin, []byte(payload), mask)
	return s
}

func (s *streamBuilder) raw(b []byte) *streamBuilder {
	s.data = append(s.data, b...)
	return s
}

// feedChunks runs the event loop over the chunks and returns the events.
func feedChunks(t *testing.T, cfg DecoderConfig, chunks [][]byte) []event {
	t.Helper()
	var d Decoder
	d.Init(&cfg)
	defer d.Release()
	var events []event
	var in []byte
	for _, c := range chunks {
		in = append(in, c...)
		evs, rest := decodeAll(t, &d, in)
		events = append(events, evs...)
		if len(evs) > 0 && evs[len(evs)-1].Err != nil {
			return events
		}
		in = append(in[:0], rest...)
	}
	return events
}

// splitAt cuts a copy of stream at the given sorted offsets.
func splitAt(stream []byte, cuts ...int) [][]byte {
	var chunks [][]byte
	prev := 0
	for _, c := range append(cuts, len(stream)) {
		chunks = append(chunks, append([]byte(nil), stream[prev:c]...))
		prev = c
	}
	return chunks
}

type splitCase struct {
	name   string
	cfg    DecoderConfig
	stream []byte
	want   []event
}

func splitCases() []splitCase {
	// "Grüße 🌍 κόσμε" cut inside ü, inside 🌍 (twice) and inside κ.
	greeting := "Grüße 🌍 κόσμε"
	ue := strings.Index(greeting, "ü")
	globe := strings.Index(greeting, "🌍")
	kappa := strings.Index(greeting, "κ")
	frags := []string{
		greeting[:ue+1],
		greeting[ue+1 : globe+1],
		greeting[globe+1 : globe+3],
		greeting[globe+3 : kappa+1],
		greeting[kappa+1:],
	}
	bin300 := strings.Repeat("\x00\x01\xfe\xff", 75)

	mixed := newStreamBuilder(1).
		frame(OpText, false, frags[0]).
		frame(OpPing, true, "ping-1").
		frame(OpContinuation, false, frags[1]).
		frame(OpContinuation, false, frags[2]).
		frame(OpPong, true, "").
		frame(OpPing, true, strings.Repeat("P", 125)).
		frame(OpContinuation, false, frags[3]).
		frame(OpContinuation, true, frags[4]).
		frame(OpBinary, true, bin300).
		frame(OpText, true, "").
		frame(OpBinary, false, "b1").
		frame(OpContinuation, false, "").
		frame(OpClose, true, closePayload(CloseGoingAway, "between")).
		frame(OpContinuation, true, "b2").
		frame(OpText, true, "ünïcödé").
		frame(OpText, false, "").
		frame(OpContinuation, true, "").
		frame(OpClose, true, closePayload(CloseNormal, "bye ☃"))
	mixedWant := []event{
		ping("ping-1"),
		pong(""),
		ping(strings.Repeat("P", 125)),
		text(greeting),
		binMsg(bin300),
		text(""),
		closeEv(CloseGoingAway, "between"),
		binMsg("b1b2"),
		text("ünïcödé"),
		text(""),
		closeEv(CloseNormal, "bye ☃"),
	}

	// A valid prefix with a message in progress, then the bad frame, then
	// bytes that must never be looked at.
	prefix := func() *streamBuilder {
		return newStreamBuilder(2).
			frame(OpText, true, "hi").
			frame(OpBinary, false, "half")
	}
	prefixWant := []event{text("hi")}
	withErr := func(err error, extra ...event) []event {
		out := append(append([]event(nil), prefixWant...), extra...)
		return append(out, failed(err))
	}
	trailer := []byte("\x81\x85trailing garbage")
	header := func(b0 byte, length int64) []byte {
		var h [MaxHeaderSize]byte
		n := PutHeader(h[:], false, 0, 0, length, &testMask)
		h[0] = b0
		return h[:n]
	}

	cases := []splitCase{
		{
			name:   "mixed",
			stream: mixed.data,
			want:   mixedWant,
		},
		{
			name:   "mixed, ending inside a frame",
			stream: mixed.data[:len(mixed.data)-3],
			want:   mixedWant[:len(mixedWant)-1],
		},
		{
			name:   "reserved opcode",
			stream: prefix().raw(rawFrame(0x83, "x")).raw(trailer).data,
			want:   withErr(ErrReservedOpcode),
		},
		{
			name:   "reserved bits",
			stream: prefix().raw(rawFrame(0x80|0x20|byte(OpPing), "x")).raw(trailer).data,
			want:   withErr(ErrReservedBits),
		},
		{
			name:   "unmasked client frame",
			stream: prefix().raw(sf(OpContinuation, true, "x")).raw(trailer).data,
			want:   withErr(ErrUnmaskedFrame),
		},
		{
			name:   "masked server frame",
			cfg:    DecoderConfig{FromServer: true},
			stream: cat(sf(OpPing, true, "s"), sf(OpText, false, "ab"), cf(OpContinuation, true, "c"), trailer),
			want:   []event{ping("s"), failed(ErrMaskedFrame)},
		},
		{
			name:   "length overflow",
			stream: prefix().raw([]byte{0x80, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}).raw(trailer).data,
			want:   withErr(ErrLengthOverflow),
		},
		{
			name:   "non-minimal length",
			stream: prefix().raw([]byte{0x80, 0xfe, 0x00, 0x01, 1, 2, 3, 4, 0}).raw(trailer).data,
			want:   withErr(ErrNonMinimalLength),
		},
		{
			name:   "control frame too long",
			stream: prefix().raw(header(0x89, 126)).raw(trailer).data,
			want:   withErr(ErrControlTooLong),
		},
		{
			name:   "fragmented control frame",
			stream: prefix().raw(rawFrame(byte(OpPong), "")).raw(trailer).data,
			want:   withErr(ErrControlFragmented),
		},
		{
			name:   "unexpected continuation",
			stream: prefix().frame(OpContinuation, true, "end").frame(OpContinuation, true, "x").raw(trailer).data,
			want:   withErr(ErrUnexpectedCont, binMsg("halfend")),
		},
		{
			name:   "expected continuation",
			stream: prefix().frame(OpPing, true, "").frame(OpText, true, "new").raw(trailer).data,
			want:   withErr(ErrExpectedCont, ping("")),
		},
		{
			name:   "frame too big, decided from the header",
			cfg:    DecoderConfig{MaxMessageSize: 64},
			stream: prefix().raw(header(0x80, 65)).data,
			want:   withErr(ErrFrameTooBig),
		},
		{
			name:   "message too big, decided from the header",
			cfg:    DecoderConfig{MaxMessageSize: 64},
			stream: prefix().frame(OpContinuation, false, strings.Repeat("m", 50)).raw(header(0x80, 11)).data,
			want:   withErr(ErrMessageTooBig),
		},
		{
			name: "invalid UTF-8 in a middle fragment",
			stream: newStreamBuilder(3).
				frame(OpText, false, "ok ☃"[:4]).
				frame(OpPing, true, "x").
				frame(OpContinuation, false, "\x83 then \xc0\xaf").
				raw(header(0x80, 20)).data,
			want: []event{ping("x"), failed(ErrInvalidUTF8)},
		},
		{
			name: "unfinished code point at the final fragment",
			stream: newStreamBuilder(4).
				frame(OpText, false, "ab").
				frame(OpContinuation, true, "\xe2\x98").
				raw(trailer).data,
			want: []event{failed(ErrInvalidUTF8)},
		},
		{
			name:   "invalid UTF-8 in a one-frame message",
			stream: newStreamBuilder(5).frame(OpText, true, "x\xed\xa0\x80").raw(trailer).data,
			want:   []event{failed(ErrInvalidUTF8)},
		},
		{
			name:   "close payload of 1 byte",
			stream: prefix().frame(OpClose, true, "\x03").raw(trailer).data,
			want:   withErr(ErrCloseTooShort),
		},
		{
			name:   "invalid close code",
			stream: prefix().frame(OpClose, true, closePayload(1016, "")).raw(trailer).data,
			want:   withErr(ErrInvalidCloseCode),
		},
		{
			name:   "invalid close reason",
			stream: prefix().frame(OpClose, true, closePayload(CloseNormal, "\xe2\x82")).raw(trailer).data,
			want:   withErr(ErrInvalidCloseReason),
		},
	}
	return cases
}

func TestRFC6455_5_4_SplitProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, tc := range splitCases() {
		t.Run(tc.name, func(t *testing.T) {
			checkEvents(t, feedChunks(t, tc.cfg, splitAt(tc.stream)), tc.want)
			// Every split point.
			for i := 0; i <= len(tc.stream); i++ {
				got := feedChunks(t, tc.cfg, splitAt(tc.stream, i))
				checkEvents(t, got, tc.want)
			}
			// One byte at a time.
			cuts := make([]int, 0, len(tc.stream))
			for i := 1; i < len(tc.stream); i++ {
				cuts = append(cuts, i)
			}
			checkEvents(t, feedChunks(t, tc.cfg, splitAt(tc.stream, cuts...)), tc.want)
			// Random multi-splits.
			for range 50 {
				checkEvents(t, feedChunks(t, tc.cfg, splitAt(tc.stream, randomCuts(rng, len(tc.stream))...)), tc.want)
			}
		})
	}
}

// TestRFC6455_5_2_SplitPropertyLargeFrames covers 16- and 64-bit lengths
// at sampled split points (every split of 70 KB would be slow).
func TestRFC6455_5_2_SplitPropertyLargeFrames(t *testing.T) {
	big := strings.Repeat("ωmega ", 70000/7)
	stream := newStreamBuilder(9).
		frame(OpText, false, big[:1001]).
		frame(OpPing, true, "mid").
		frame(OpContinuation, true, big[1001:]).
		frame(OpBinary, true, big[:65536]).
		frame(OpBinary, true, big[:65535]).data
	want := []event{ping("mid"), text(big), binMsg(big[:65536]), binMsg(big[:65535])}
	rng := rand.New(rand.NewPCG(3, 5))
	checkEvents(t, feedChunks(t, DecoderConfig{}, splitAt(stream)), want)
	var points []int
	for i := 0; i <= len(stream); i += 1 + rng.IntN(8000) {
		points = append(points, i)
	}
	for i := range 30 { // around the first headers
		points = append(points, i, 1001+i)
	}
	for _, i := range points {
		checkEvents(t, feedChunks(t, DecoderConfig{}, splitAt(stream, i)), want)
	}
	for range 20 {
		checkEvents(t, feedChunks(t, DecoderConfig{}, splitAt(stream, randomCuts(rng, len(stream))...)), want)
	}
}

// randomCuts returns 1 to 10 sorted cut points in [0, n].
func randomCuts(rng *rand.Rand, n int) []int {
	k := 1 + rng.IntN(10)
	cuts := make([]int, k)
	for i := range cuts {
		cuts[i] = rng.IntN(n + 1)
	}
	for i := 1; i < len(cuts); i++ {
		for j := i; j > 0 && cuts[j] < cuts[j-1]; j-- {
			cuts[j], cuts[j-1] = cuts[j-1], cuts[j]
		}
	}
	return cuts
}
