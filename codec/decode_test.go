package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// testMask is the masking key of RFC 6455 §5.7's examples.
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// cf is a masked client frame.
func cf(op OpCode, fin bool, payload string) []byte {
	return AppendMaskedFrame(nil, op, fin, []byte(payload), testMask)
}

// sf is an unmasked server frame.
func sf(op OpCode, fin bool, payload string) []byte {
	return AppendFragment(nil, op, fin, []byte(payload))
}

// rawFrame builds a masked frame with any first byte (opcode, RSV, FIN),
// including ones the encoders refuse to make.
func rawFrame(b0 byte, payload string) []byte {
	var h [MaxHeaderSize]byte
	n := PutHeader(h[:], false, 0, 0, int64(len(payload)), &testMask)
	h[0] = b0
	return appendMasked(h[:n], payload)
}

// appendMasked appends payload masked with testMask to header.
func appendMasked(header []byte, payload string) []byte {
	out := append([]byte(nil), header...)
	for i := range len(payload) {
		out = append(out, payload[i]^testMask[i%4])
	}
	return out
}

// closePayload is a close frame payload: code then reason.
func closePayload(code CloseCode, reason string) string {
	return string(binary.BigEndian.AppendUint16(nil, uint16(code))) + reason
}

func cat(frames ...[]byte) []byte {
	return bytes.Join(frames, nil)
}

// event is what one Decode call produced, copied out of the decoder's
// buffers so it can be compared after later calls.
type event struct {
	Kind    Kind
	Payload string
	Code    CloseCode
	Reason  string
	Rsv     uint8
	Err     error
}

func (e event) String() string {
	if e.Err != nil {
		return fmt.Sprintf("error(%v)", e.Err)
	}
	if e.Kind == KindClose {
		return fmt.Sprintf("close(%d %q)", e.Code, e.Reason)
	}
	return fmt.Sprintf("%v(%q rsv=%d)", e.Kind, e.Payload, e.Rsv)
}

func toEvent(m Message) event {
	return event{
		Kind:    m.Kind,
		Payload: string(m.Payload),
		Code:    m.Code,
		Reason:  string(m.Reason),
		Rsv:     m.Rsv,
	}
}

func text(s string) event   { return event{Kind: KindText, Payload: s} }
func binMsg(s string) event { return event{Kind: KindBinary, Payload: s} }
func ping(s string) event   { return event{Kind: KindPing, Payload: s} }
func pong(s string) event   { return event{Kind: KindPong, Payload: s} }
func closeEv(code CloseCode, reason string) event {
	payload := ""
	if code != CloseNoStatus {
		payload = closePayload(code, reason)
	}
	return event{Kind: KindClose, Payload: payload, Code: code, Reason: reason}
}
func failed(err error) event { return event{Err: err} }

// decodeAll decodes p (which it modifies) with d until need-more or an
// error, checking Decode's contract on every call.
func decodeAll(t testing.TB, d *Decoder, p []byte) (events []event, rest []byte) {
	t.Helper()
	for {
		before := append([]byte(nil), p...)
		msg, n, err := d.Decode(p)
		switch {
		case err != nil:
			if n != 0 || msg.Kind != KindNone || msg.Payload != nil {
				t.Fatalf(
					"Decode error %v with n=%d msg=%v",
					err, n, toEvent(msg))
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf(
					"Decode error %T is not *Error",
					err)
			}
			// The error sticks.
			if _, n2, err2 := d.Decode(p); err2 != err || n2 != 0 {
				t.Fatalf(
					"second Decode after %v: n=%d err=%v",
					err, n2, err2)
			}
			return append(events, failed(err)), p
		case n == 0:
			if msg.Kind != KindNone {
				t.Fatalf(
					"need-more with message %v",
					toEvent(msg))
			}
			if !bytes.Equal(before, p) {
				t.Fatalf(
					"need-more modified its input")
			}
			return events, p
		case n > len(p):
			t.Fatalf(
				"consumed %d of %d bytes",
				n, len(p))
		}
		if msg.Kind != KindNone {
			events = append(events, toEvent(msg))
		}
		p = p[n:]
	}
}

func checkEvents(t *testing.T, got, want []event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf(
			"got %d events %v, want %d %v",
			len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf(
				"event %d: got %v, want %v\nall: %v",
				i, got[i], want[i], got)
		}
	}
}

var clientConfig = DecoderConfig{}

type decodeCase struct {
	name       string
	cfg        DecoderConfig
	rsv        uint8 // extension RSV bits
	stream     []byte
	want       []event
	wantRest   int  // bytes left unconsumed at need-more
	noRestTest bool // skip the rest check
}

func runDecodeCases(t *testing.T, cases []decodeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			var d Decoder
			d.Init(&cfg)
			d.SetExtensionRSV(tc.rsv)
			got, rest := decodeAll(t, &d, append([]byte(nil), tc.stream...))
			checkEvents(t, got, tc.want)
			if !tc.noRestTest && len(got) > 0 && got[len(got)-1].Err == nil && len(rest) != tc.wantRest {
				t.Fatalf(
					"%d bytes left, want %d",
					len(rest), tc.wantRest)
			}
			d.Release()
		})
	}
}

func TestRFC6455_5_1_Masking(t *testing.T) {
	runDecodeCases(t, []decodeCase{
		{
			name:   "client frame masked",
			stream: cf(OpText, true, "Hello"),
			want:   []event{text("Hello")},
		},
		{
			name:   "client frame unmasked",
			stream: sf(OpText, true, "Hello"),
			want:   []event{failed(ErrUnmaskedFrame)},
		},
		{
			name:   "client control frame unmasked",
			stream: cat(cf(OpText, true, "a"), sf(OpPing, true, "")),
			want:   []event{text("a"), failed(ErrUnmaskedFrame)},
		},
		{
			name:   "server frame unmasked",
			cfg:    DecoderConfig{FromServer: true},
			stream: sf(OpText, true, "Hello"),
			want:   []event{text("Hello")},
		},
		{
			name:   "server frame masked",
			cfg:    DecoderConfig{FromServer: true},
			stream: cf(OpText, true, "Hello"),
			want:   []event{failed(ErrMaskedFrame)},
		},
	})
}

// TestRFC6455_5_7_Examples decodes the examples of §5.7 byte for byte.
func TestRFC6455_5_7_Examples(t *testing.T) {
	hello := []byte{0x48, 0x65, 0x6c, 0x6c, 0x6f}
	big := bytes.Repeat([]byte{0xab}, 65536)
	runDecodeCases(t, []decodeCase{
		{
			name:   "single-frame unmasked text",
			cfg:    DecoderConfig{FromServer: true},
			stream: []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
			want:   []event{text("Hello")},
		},
		{
			name:   "single-frame masked text",
			stream: []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
			want:   []event{text("Hello")},
		},
		{
			name:   "fragmented unmasked text",
			cfg:    DecoderConfig{FromServer: true},
			stream: []byte{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f},
			want:   []event{text("Hello")},
		},
		{
			name:   "unmasked ping",
			cfg:    DecoderConfig{FromServer: true},
			stream: append([]byte{0x89, 0x05}, hello...),
			want:   []event{ping("Hello")},
		},
		{
			name:   "masked pong",
			stream: []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
			want:   []event{pong("Hello")},
		},
		{
			name:   "256 bytes binary in one unmasked frame",
			cfg:    DecoderConfig{FromServer: true},
			stream: append([]byte{0x82, 0x7e, 0x01, 0x00}, big[:256]...),
			want:   []event{binMsg(string(big[:256]))},
		},
		{
			name:   "64KiB binary in one unmasked frame",
			cfg:    DecoderConfig{FromServer: true},
			stream: append([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, big...),
			want:   []event{binMsg(string(big))},
		},
	})
}

func TestRFC6455_5_2_ReservedOpcodeDecoder(t *testing.T) {
	for _, op := range []byte{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		t.Run(fmt.Sprintf("opcode %#x", op), func(t *testing.T) {
			runDecodeCases(t, []decodeCase{
				{
					name:   "alone",
					stream: rawFrame(0x80|op, "x"),
					want:   []event{failed(ErrReservedOpcode)},
				},
				{
					name:   "inside a fragmented message",
					stream: cat(cf(OpText, false, "a"), rawFrame(0x80|op, "")),
					want:   []event{failed(ErrReservedOpcode)},
				},
			})
		})
	}
}

func TestRFC6455_5_2_ReservedBits(t *testing.T) {
	invalidUTF8 := "\xff\xfe"
	runDecodeCases(t, []decodeCase{
		{
			name:   "RSV1 without extension",
			stream: rawFrame(0x80|0x40|byte(OpText), "a"),
			want:   []event{failed(ErrReservedBits)},
		},
		{
			name:   "RSV2 without extension",
			stream: rawFrame(0x80|0x20|byte(OpBinary), "a"),
			want:   []event{failed(ErrReservedBits)},
		},
		{
			name:   "RSV3 without extension",
			stream: rawFrame(0x80|0x10|byte(OpPing), "a"),
			want:   []event{failed(ErrReservedBits)},
		},
		{
			name:   "RSV1 with extension on a one-frame text message, not UTF-8 checked",
			rsv:    0b100,
			stream: rawFrame(0x80|0x40|byte(OpText), invalidUTF8),
			want:   []event{{Kind: KindText, Payload: invalidUTF8, Rsv: 0b100}},
		},
		{
			name: "RSV1 with extension on the first fragment",
			rsv:  0b100,
			stream: cat(
				rawFrame(0x40|byte(OpText), invalidUTF8),
				cf(OpContinuation, true, "\xfd")),
			want: []event{{Kind: KindText, Payload: invalidUTF8 + "\xfd", Rsv: 0b100}},
		},
		{
			name: "RSV1 with extension on a continuation frame",
			rsv:  0b100,
			stream: cat(
				cf(OpText, false, "a"),
				rawFrame(0x80|0x40|byte(OpContinuation), "b")),
			want: []event{failed(ErrReservedBits)},
		},
		{
			name:   "RSV1 with extension on a control frame",
			rsv:    0b100,
			stream: rawFrame(0x80|0x40|byte(OpPing), ""),
			want:   []event{failed(ErrReservedBits)},
		},
		{
			name:   "RSV2 with an extension owning RSV1",
			rsv:    0b100,
			stream: rawFrame(0x80|0x20|byte(OpText), "a"),
			want:   []event{failed(ErrReservedBits)},
		},
	})
}

// TestRFC6455_5_2_HeaderErrorsDecoder checks that the decoder reports what
// ParseHeader finds.
func TestRFC6455_5_2_HeaderErrorsDecoder(t *testing.T) {
	runDecodeCases(t, []decodeCase{
		{
			name:   "non-minimal 16-bit length",
			stream: []byte{0x82, 0xfe, 0x00, 0x05, 1, 2, 3, 4, 1, 2, 3, 4, 5},
			want:   []event{failed(ErrNonMinimalLength)},
		},
		{
			name:   "64-bit length with MSB set",
			stream: []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
			want:   []event{failed(ErrLengthOverflow)},
		},
		{
			name:   "control frame over 125 bytes",
			stream: []byte{0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4},
			want:   []event{failed(ErrControlTooLong)},
		},
		{
			name:   "fragmented control frame",
			stream: rawFrame(byte(OpPing), ""),
			want:   []event{failed(ErrControlFragmented)},
		},
	})
}

func TestRFC6455_5_4_Fragmentation(t *testing.T) {
	runDecodeCases(t, []decodeCase{
		{
			name: "text in three fragments",
			stream: cat(
				cf(OpText, false, "Hel"),
				cf(OpContinuation, false, "lo, "),
				cf(OpContinuation, true, "world")),
			want: []event{text("Hello, world")},
		},
		{
			name: "binary in two fragments",
			stream: cat(
				cf(OpBinary, false, "\x00\xff"),
				cf(OpContinuation, true, "\xfe")),
			want: []event{binMsg("\x00\xff\xfe")},
		},
		{
			name: "empty fragments",
			stream: cat(
				cf(OpText, false, ""),
				cf(OpContinuation, false, "ab"),
				cf(OpContinuation, false, ""),
				cf(OpContinuation, true, "")),
			want: []event{text("ab")},
		},
		{
			name: "all fragments empty",
			stream: cat(
				cf(OpBinary, false, ""),
				cf(OpContinuation, true, "")),
			want: []event{binMsg("")},
		},
		{
			name: "only the final fragment carries data",
			stream: cat(
				cf(OpText, false, ""),
				cf(OpContinuation, false, ""),
				cf(OpContinuation, true, "last")),
			want: []event{text("last")},
		},
		{
			name: "messages back to back",
			stream: cat(
				cf(OpText, false, "a"),
				cf(OpContinuation, true, "b"),
				cf(OpBinary, true, "c"),
				cf(OpText, false, "d"),
				cf(OpContinuation, true, "e")),
			want: []event{text("ab"), binMsg("c"), text("de")},
		},
		{
			name: "continuation without a started message",
			stream: cat(
				cf(OpContinuation, true, "x")),
			want: []event{failed(ErrUnexpectedCont)},
		},
		{
			name: "continuation after a finished message",
			stream: cat(
				cf(OpText, false, "a"),
				cf(OpContinuation, true, "b"),
				cf(OpContinuation, false, "c")),
			want: []event{text("ab"), failed(ErrUnexpectedCont)},
		},
		{
			name: "text inside a fragmented message",
			stream: cat(
				cf(OpText, false, "a"),
				cf(OpText, true, "b")),
			want: []event{failed(ErrExpectedCont)},
		},
		{
			name: "binary inside a fragmented message",
			stream: cat(
				cf(OpBinary, false, "a"),
				cf(OpPing, true, ""),
				cf(OpBinary, false, "b")),
			want: []event{ping(""), failed(ErrExpectedCont)},
		},
		{
			name: "fragment waiting for the rest",
			stream: cat(
				cf(OpText, false, "a"),
				cf(OpContinuation, true, "bc")[:5]),
			want:       nil,
			noRestTest: true,
		},
	})
}

// TestRFC6455_5_4_ControlBetweenFragments checks that control frames may
// be injected in the middle of a fragmented message and leave it intact.
func TestRFC6455_5_4_ControlBetweenFragments(t *testing.T) {
	runDecodeCases(t, []decodeCase{
		{
			name: "ping, pong and close between fragments",
			stream: cat(
				cf(OpText, false, "frag1 "),
				cf(OpPing, true, "p1"),
				cf(OpContinuation, false, "frag2 "),
				cf(OpPong, true, "p2"),
				cf(OpPing, true, ""),
				cf(OpContinuation, false, ""),
				cf(OpClose, true, closePayload(CloseGoingAway, "bye")),
				cf(OpContinuation, true, "frag3")),
			want: []event{
				ping("p1"),
				pong("p2"),
				ping(""),
				closeEv(CloseGoingAway, "bye"),
				text("frag1 frag2 frag3"),
			},
		},
		{
			name: "ping of 125 bytes between binary fragments",
			stream: cat(
				cf(OpBinary, false, "x"),
				cf(OpPing, true, strings.Repeat("p", 125)),
				cf(OpContinuation, true, "y")),
			want: []event{ping(strings.Repeat("p", 125)), binMsg("xy")},
		},
	})
}

func TestRFC6455_5_5_1_CloseFrame(t *testing.T) {
	runDecodeCases(t, []decodeCase{
		{
			name:   "empty payload",
			stream: cf(OpClose, true, ""),
			want:   []event{closeEv(CloseNoStatus, "")},
		},
		{
			name:   "code only",
			stream: cf(OpClose, true, closePayload(CloseNormal, "")),
			want:   []event{closeEv(CloseNormal, "")},
		},
		{
			name:   "code and UTF-8 reason",
			stream: cf(OpClose, true, closePayload(4000, "fin ☃")),
			want:   []event{closeEv(4000, "fin ☃")},
		},
		{
			name:   "1-byte payload",
			stream: cf(OpClose, true, "\x03"),
			want:   []event{failed(ErrCloseTooShort)},
		},
		{
			name:   "code 1005 on the wire",
			stream: cf(OpClose, true, closePayload(CloseNoStatus, "")),
			want:   []event{failed(ErrInvalidCloseCode)},
		},
		{
			name:   "code 999",
			stream: cf(OpClose, true, closePayload(999, "x")),
			want:   []event{failed(ErrInvalidCloseCode)},
		},
		{
			name:   "reason not UTF-8",
			stream: cf(OpClose, true, closePayload(CloseNormal, "\xce")),
			want:   []event{failed(ErrInvalidCloseReason)},
		},
		{
			name:   "frames after a close are still decoded",
			stream: cat(cf(OpClose, true, ""), cf(OpText, true, "late")),
			want:   []event{closeEv(CloseNoStatus, ""), text("late")},
		},
	})
}

// TestRFC6455_8_1_UTF8Decoder checks UTF-8 validation of text messages,
// whole and fragmented.
func TestRFC6455_8_1_UTF8Decoder(t *testing.T) {
	snowman := "☃" // e2 98 83
	runDecodeCases(t, []decodeCase{
		{
			name:   "one frame, valid",
			stream: cf(OpText, true, "κόσμε"),
			want:   []event{text("κόσμε")},
		},
		{
			name:   "one frame, invalid",
			stream: cf(OpText, true, "κόσμε\xed\xa0\x80edited"),
			want:   []event{failed(ErrInvalidUTF8)},
		},
		{
			name:   "one frame, unfinished code point",
			stream: cf(OpText, true, "ok\xe2\x98"),
			want:   []event{failed(ErrInvalidUTF8)},
		},
		{
			name:   "binary is not checked",
			stream: cf(OpBinary, true, "\xff"),
			want:   []event{binMsg("\xff")},
		},
		{
			name: "code point split across three fragments",
			stream: cat(
				cf(OpText, false, "a"+snowman[:1]),
				cf(OpContinuation, false, snowman[1:2]),
				cf(OpPing, true, ""),
				cf(OpContinuation, true, snowman[2:]+"b")),
			want: []event{ping(""), text("a" + snowman + "b")},
		},
		{
			name: "4-byte code point split in every fragment",
			stream: cat(
				cf(OpText, false, "\xf0"),
				cf(OpContinuation, false, "\x9f"),
				cf(OpContinuation, false, "\x98"),
				cf(OpContinuation, true, "\x80")),
			want: []event{text("😀")},
		},
		{
			name: "invalid first fragment fails before the rest arrives",
			stream: cat(
				cf(OpText, false, "\xc0\xaf"),
				cf(OpContinuation, true, "x")[:3]),
			want: []event{failed(ErrInvalidUTF8)},
		},
		{
			name: "invalid continuation of a split code point fails at once",
			stream: cat(
				cf(OpText, false, "\xe2"),
				cf(OpContinuation, false, "\x28"),
				cf(OpContinuation, true, "more")[:2]),
			want: []event{failed(ErrInvalidUTF8)},
		},
		{
			name: "unfinished code point at the final fragment",
			stream: cat(
				cf(OpText, false, "ab"),
				cf(OpContinuation, true, "\xf0\x9f\x98")),
			want: []event{failed(ErrInvalidUTF8)},
		},
		{
			name: "unfinished code point at an empty final fragment",
			stream: cat(
				cf(OpText, false, "\xe2\x98"),
				cf(OpContinuation, true, "")),
			want: []event{failed(ErrInvalidUTF8)},
		},
	})
}

// TestRFC6455_10_4_Limits checks the message size limit (§10.4), which is
// decided from the header before any payload arrives.
func TestRFC6455_10_4_Limits(t *testing.T) {
	small := DecoderConfig{MaxMessageSize: 10}
	header := func(op OpCode, fin bool, length int64) []byte {
		var h [MaxHeaderSize]byte
		n := PutHeader(h[:], fin, 0, op, length, &testMask)
		return h[:n]
	}
	runDecodeCases(t, []decodeCase{
		{
			name:   "frame at the limit",
			cfg:    small,
			stream: cf(OpBinary, true, "0123456789"),
			want:   []event{binMsg("0123456789")},
		},
		{
			name:   "frame over the limit, header only",
			cfg:    small,
			stream: header(OpBinary, true, 11),
			want:   []event{failed(ErrFrameTooBig)},
		},
		{
			name:   "continuation frame over the limit, header only",
			cfg:    small,
			stream: cat(cf(OpText, false, ""), header(OpContinuation, true, 11)),
			want:   []event{failed(ErrFrameTooBig)},
		},
		{
			name:   "2^62 bytes declared, default limit",
			stream: header(OpBinary, true, 1<<62),
			want:   []event{failed(ErrFrameTooBig)},
		},
		{
			name:   "largest declared length, no limit",
			cfg:    DecoderConfig{MaxMessageSize: 1<<63 - 1},
			stream: header(OpBinary, true, 1<<63-1),
			// Need more: the header passes, the payload is not here.
			want:       nil,
			noRestTest: true,
		},
		{
			name:   "message reaching the limit across fragments",
			cfg:    small,
			stream: cat(cf(OpText, false, "01234"), cf(OpContinuation, true, "56789")),
			want:   []event{text("0123456789")},
		},
		{
			name: "message over the limit, header only",
			cfg:  small,
			stream: cat(
				cf(OpText, false, "01234"),
				cf(OpPing, true, "control frames do not count"),
				cf(OpContinuation, false, "5"),
				header(OpContinuation, true, 5)),
			want: []event{ping("control frames do not count"), failed(ErrMessageTooBig)},
		},
		{
			name:   "control frame longer than the message limit",
			cfg:    DecoderConfig{MaxMessageSize: 1},
			stream: cf(OpPing, true, "0123456789"),
			want:   []event{ping("0123456789")},
		},
		{
			name:       "frame at the default limit waits for its payload",
			stream:     cat(header(OpBinary, false, DefaultMaxMessageSize), header(OpContinuation, true, 1)),
			want:       nil,
			noRestTest: true,
		},
	})
}

func TestDecoderLimitsAcrossFrames(t *testing.T) {
	cfg := DecoderConfig{MaxMessageSize: DefaultMaxMessageSize}
	var d Decoder
	d.Init(&cfg)
	half := bytes.Repeat([]byte("a"), DefaultMaxMessageSize/2)
	stream := cat(
		AppendMaskedFrame(nil, OpText, false, half, testMask),
		AppendMaskedFrame(nil, OpContinuation, false, half, testMask),
		cf(OpContinuation, true, "!"))
	got, _ := decodeAll(t, &d, stream)
	checkEvents(t, got, []event{failed(ErrMessageTooBig)})
}

// TestDecoderNeedMore feeds every proper prefix of each frame. Before its
// header is complete, and for a control frame before its payload is, the
// decoder must ask for more without consuming or modifying anything; a data
// frame whose header is complete is consumed as far as it has arrived, and
// the rest completes it.
func TestDecoderNeedMore(t *testing.T) {
	frames := []struct {
		frame []byte
		want  event
	}{
		{cf(OpText, true, ""), text("")},
		{cf(OpText, true, "Hello"), text("Hello")},
		{cf(OpBinary, true, strings.Repeat("x", 200)), binMsg(strings.Repeat("x", 200))},
		{cf(OpBinary, true, strings.Repeat("y", 70000)), binMsg(strings.Repeat("y", 70000))},
		{cf(OpClose, true, closePayload(CloseNormal, "bye")), closeEv(CloseNormal, "bye")},
	}
	for _, tc := range frames {
		frame := tc.frame
		_, hdr, _ := ParseHeader(frame)
		control := frame[0]&0x08 != 0
		for i := 0; i < len(frame); i += 1 + i/64 {
			var d Decoder
			d.Init(&clientConfig)
			p := append([]byte(nil), frame[:i]...)
			msg, n, err := d.Decode(p)
			if i < hdr || control {
				if msg.Kind != KindNone || n != 0 || err != nil {
					t.Fatalf(
						"prefix %d of %d: got %v n=%d err=%v",
						i, len(frame), toEvent(msg), n, err)
				}
				if !bytes.Equal(p, frame[:i]) {
					t.Fatalf(
						"prefix %d of %d modified",
						i, len(frame))
				}
				d.Release()
				continue
			}
			if msg.Kind != KindNone || n != i || err != nil || !d.InMessage() {
				t.Fatalf(
					"prefix %d of %d (header %d): got %v n=%d err=%v in=%v",
					i, len(frame), hdr, toEvent(msg), n, err, d.InMessage())
			}
			rest := append([]byte(nil), frame[i:]...)
			msg, n, err = d.Decode(rest)
			if err != nil || n != len(rest) || toEvent(msg) != tc.want {
				t.Fatalf(
					"prefix %d of %d then the rest: got %v n=%d err=%v",
					i, len(frame), toEvent(msg), n, err)
			}
			d.Release()
		}
	}
}

// bufCap is the capacity of d's message buffer (0 when it has none).
func bufCap(d *Decoder) int64 {
	if d.st == nil {
		return 0
	}
	return int64(cap(d.st.buf))
}

func TestDecoderResults(t *testing.T) {
	var d Decoder
	d.Init(&clientConfig)
	p := cat(cf(OpText, false, "ab"), cf(OpContinuation, true, "cd"), cf(OpBinary, true, "ef"))

	msg, n, err := d.Decode(p)
	if msg.Kind != KindNone || n != 8 || err != nil || !d.InMessage() {
		t.Fatalf(
			"first fragment: %v n=%d err=%v in=%v",
			toEvent(msg), n, err, d.InMessage())
	}
	p = p[n:]
	msg, n, err = d.Decode(p)
	if msg.Kind != KindText || string(msg.Payload) != "abcd" || n != 8 || err != nil || d.InMessage() {
		t.Fatalf(
			"final fragment: %v n=%d err=%v in=%v",
			toEvent(msg), n, err, d.InMessage())
	}
	if d.st == nil {
		t.Fatalf(
			"reassembled payload not held until the next call")
	}
	d.Recycle()
	if d.st != nil {
		t.Fatalf(
			"Recycle kept the buffer")
	}
	p = p[n:]
	msg, n, err = d.Decode(p)
	if msg.Kind != KindBinary || string(msg.Payload) != "ef" || n != 8 || err != nil {
		t.Fatalf(
			"one-frame message: %v n=%d err=%v",
			toEvent(msg), n, err)
	}
	// A one-frame payload aliases p, unmasked in place, capped at its end.
	if &msg.Payload[0] != &p[6] || cap(msg.Payload) != 2 {
		t.Fatalf(
			"payload does not alias the input")
	}
}

func TestDecoderIdleHoldsNoBuffer(t *testing.T) {
	var d Decoder
	d.Init(&clientConfig)
	p := cat(cf(OpText, false, "ab"), cf(OpContinuation, true, "cd"))
	got, _ := decodeAll(t, &d, p)
	checkEvents(t, got, []event{text("abcd")})
	// decodeAll's last call returned need-more, which dropped the buffer.
	if d.st != nil {
		t.Fatalf(
			"idle decoder holds a buffer")
	}

	// Recycle keeps the buffer of a message in progress.
	d.Decode(cf(OpText, false, "ab"))
	d.Recycle()
	if d.st == nil || !d.InMessage() {
		t.Fatalf(
			"Recycle dropped a message in progress")
	}
	d.Release()
	if d.st != nil || d.InMessage() || d.cfg != &clientConfig {
		t.Fatalf(
			"Release left state behind: %+v",
			d)
	}
	// Release also clears the error.
	d.Decode(cf(OpContinuation, true, ""))
	d.Release()
	got, _ = decodeAll(t, &d, cf(OpText, true, "ok"))
	checkEvents(t, got, []event{text("ok")})
}

func TestDecoderSize(t *testing.T) {
	if size := unsafe.Sizeof(Decoder{}); size > 32 {
		t.Fatalf(
			"Decoder is %d bytes, want <= 32",
			size)
	}
}

// TestDecoderBufferGrowth checks that the reassembly buffer never grows
// past the message limit, even when fed by a pool buffer grown under a
// larger limit.
func TestDecoderBufferGrowth(t *testing.T) {
	for _, limit := range []int64{1, 100, 511, 512, 513, 1000, 5000} {
		cfg := DecoderConfig{MaxMessageSize: limit}
		var d Decoder
		d.Init(&cfg)
		frag := strings.Repeat("z", int(limit/3)+1)
		var msg []byte
		p := cf(OpBinary, false, frag)
		for int64(len(msg)+len(frag)) <= limit {
			_, n, err := d.Decode(p)
			if err != nil || n != len(p) {
				t.Fatalf(
					"limit %d: n=%d err=%v",
					limit, n, err)
			}
			msg = append(msg, frag...)
			if c := bufCap(&d); c > limit {
				t.Fatalf(
					"limit %d: buffer capacity %d",
					limit, c)
			}
			p = cf(OpContinuation, false, frag)
		}
		d.Release()
	}
}

func TestDecoderErrorTableComplete(t *testing.T) {
	errs := []*Error{
		ErrReservedOpcode, ErrReservedBits, ErrUnmaskedFrame, ErrMaskedFrame,
		ErrLengthOverflow, ErrNonMinimalLength, ErrControlTooLong, ErrControlFragmented,
		ErrUnexpectedCont, ErrExpectedCont, ErrFrameTooBig, ErrMessageTooBig,
		ErrInvalidUTF8, ErrCloseTooShort, ErrInvalidCloseCode, ErrInvalidCloseReason,
	}
	for _, e := range errs {
		var d Decoder
		d.Init(&clientConfig)
		d.fail(e)
		if _, _, err := d.Decode(nil); err != e {
			t.Fatalf(
				"sticky error for %v is %v",
				e, err)
		}
	}
}

func TestDecoderAllocs(t *testing.T) {
	var d Decoder
	d.Init(&clientConfig)
	single := cf(OpText, true, "Hello, world")
	frag := cat(
		cf(OpText, false, "Hello, "),
		cf(OpPing, true, "p"),
		cf(OpContinuation, true, "world"))
	p := make([]byte, len(frag))
	run := func(src []byte) {
		p = append(p[:0], src...)
		for q := p; ; {
			_, n, err := d.Decode(q)
			if err != nil || n == 0 {
				break
			}
			q = q[n:]
		}
	}
	if a := testing.AllocsPerRun(100, func() { run(single) }); a != 0 {
		t.Errorf(
			"one-frame message: %v allocs",
			a)
	}
	run(frag) // fill the pool
	a := testing.AllocsPerRun(100, func() { run(frag) })
	if a != 0 && !raceEnabled {
		t.Errorf(
			"fragmented message: %v allocs",
			a)
	}
}
