package codec

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"
	"unicode/utf8"
)

// fuzzChunks cuts data into chunks whose sizes are read from sizes, one
// byte each (the rest goes in the last chunk). The chunks are copies.
func fuzzChunks(data, sizes []byte) [][]byte {
	var chunks [][]byte
	for _, s := range sizes {
		n := min(int(s), len(data))
		chunks = append(chunks, append([]byte(nil), data[:n]...))
		data = data[n:]
	}
	return append(chunks, append([]byte(nil), data...))
}

// fuzzFeed runs the event loop over chunks, checking Decode's invariants
// on every call, and returns the events.
func fuzzFeed(t *testing.T, cfg *DecoderConfig, rsv uint8, chunks [][]byte) []event {
	var d Decoder
	d.Init(cfg)
	d.SetExtensionRSV(rsv)
	defer d.Release()
	limit := cfg.maxMessageSize()
	var events []event
	var in []byte
	for _, c := range chunks {
		in = append(in, c...)
		for {
			before := append([]byte(nil), in...)
			msg, n, err := d.Decode(in)
			if c := bufCap(&d); c > limit && !d.st.large {
				t.Fatalf(
					"message buffer capacity %d over the limit %d",
					c, limit)
			}
			if err != nil {
				if n != 0 || msg.Kind != KindNone {
					t.Fatalf(
						"error %v with n=%d kind=%v",
						err, n, msg.Kind)
				}
				if _, _, err2 := d.Decode(in); err2 != err {
					t.Fatalf(
						"error not sticky: %v then %v",
						err, err2)
				}
				return append(events, failed(err))
			}
			if n > len(in) || n < 0 {
				t.Fatalf(
					"consumed %d of %d bytes",
					n, len(in))
			}
			if n == 0 {
				if msg.Kind != KindNone || !bytes.Equal(before, in) {
					t.Fatalf(
						"need-more returned %v or modified its input",
						msg.Kind)
				}
				break
			}
			switch msg.Kind {
			case KindText, KindBinary:
				if int64(len(msg.Payload)) > limit {
					t.Fatalf(
						"payload of %d bytes over the limit %d",
						len(msg.Payload), limit)
				}
				if msg.Kind == KindText && msg.Rsv == 0 && !utf8.Valid(msg.Payload) {
					t.Fatalf(
						"text message not UTF-8: %q",
						msg.Payload)
				}
			case KindPing, KindPong, KindClose:
				if len(msg.Payload) > MaxControlPayload {
					t.Fatalf(
						"control payload of %d bytes",
						len(msg.Payload))
				}
				if msg.Kind == KindClose {
					validCode := ValidCloseCode(msg.Code) || (msg.Code == CloseNoStatus && len(msg.Payload) == 0)
					if !validCode || !utf8.Valid(msg.Reason) {
						t.Fatalf(
							"close %d %q accepted",
							msg.Code, msg.Reason)
					}
				}
			}
			if msg.Kind != KindNone {
				events = append(events, toEvent(msg))
			}
			in = in[n:]
		}
		in = append([]byte(nil), in...)
	}
	return events
}

func FuzzDecoder(f *testing.F) {
	seed := func(limitSel uint8, fromServer bool, rsv uint8, sizes []byte, frames ...[]byte) {
		f.Add(cat(frames...), sizes, limitSel, fromServer, rsv)
	}
	seed(0, false, 0, nil, cf(OpText, true, "Hello"))
	seed(0, false, 0, []byte{1, 2, 3}, cf(OpText, false, "Hé"), cf(OpPing, true, "p"), cf(OpContinuation, true, "llo ☃"))
	seed(3, false, 0, []byte{7}, cf(OpBinary, false, "0123456789"), cf(OpContinuation, true, "0123456789"))
	seed(0, true, 0, []byte{0, 2}, sf(OpText, true, "server"), sf(OpClose, true, closePayload(CloseNormal, "ok")))
	seed(0, false, 0b100, nil, rawFrame(0x80|0x40|byte(OpText), "\xff"), cf(OpClose, true, "\x03"))
	seed(0, false, 0, []byte{5}, cf(OpText, false, "\xe2"), cf(OpContinuation, true, "\x98\x83"))
	seed(0, false, 0, nil, []byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	seed(0, false, 0, nil, []byte{0x82, 0xfe, 0x00, 0x05, 1, 2, 3, 4})
	seed(0, false, 0, nil, cf(OpContinuation, true, ""), cf(OpText, true, ""))
	seed(0, false, 0, nil, cf(OpClose, true, closePayload(1004, "")))
	seed(0, false, 0, nil, cf(OpClose, true, closePayload(CloseNormal, "\xc0\xaf")))
	seed(1, false, 0, []byte{3, 3, 3}, cf(OpBinary, false, "abc"), cf(OpBinary, true, "d"))
	f.Fuzz(func(t *testing.T, data, sizes []byte, limitSel uint8, fromServer bool, rsv uint8) {
		cfg := &DecoderConfig{MaxMessageSize: int64(limitSel) * 4, FromServer: fromServer}
		if limitSel == 0 {
			cfg.MaxMessageSize = 0 // the default
		}
		whole := fuzzFeed(t, cfg, rsv, fuzzChunks(data, nil))
		split := fuzzFeed(t, cfg, rsv, fuzzChunks(data, sizes))
		if len(whole) != len(split) {
			t.Fatalf(
				"whole: %v\nsplit: %v",
				whole, split)
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf(
					"event %d: whole %v, split %v",
					i, whole[i], split[i])
			}
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Hello, world"), []byte{3, 0, 4}, uint32(0x37fa213d), true, uint8(0b101))
	f.Add([]byte("κόσμε 🌍"), []byte{1, 1, 1, 1, 1, 1, 1}, uint32(1), true, uint8(0xff))
	f.Add([]byte("\xff\xfe binary"), []byte{}, uint32(0), false, uint8(0))
	f.Add([]byte("bad \xe2\x98 text"), []byte{5}, uint32(7), true, uint8(1))
	f.Add(bytes.Repeat([]byte{0xaa}, 300), []byte{126, 0, 200}, uint32(42), false, uint8(2))
	f.Add([]byte{}, []byte{0, 0}, uint32(0xffffffff), true, uint8(0))
	f.Fuzz(func(t *testing.T, payload, sizes []byte, maskSeed uint32, isText bool, pings uint8) {
		original := append([]byte(nil), payload...)
		op := OpBinary
		if isText {
			op = OpText
		}
		mask := func(i int) [4]byte {
			var m [4]byte
			binary.LittleEndian.PutUint32(m[:], maskSeed*uint32(2*i+1)+uint32(i))
			return m
		}
		// Cut the payload into fragments of the given sizes, with a ping
		// after fragment i when bit i%8 of pings is set.
		var stream []byte
		var want []event
		rest := payload
		frame := 0
		for i, s := range sizes {
			n := min(int(s), len(rest))
			stream = AppendMaskedFrame(stream, op, false, rest[:n], mask(frame))
			frame++
			op = OpContinuation
			rest = rest[n:]
			if pings&(1<<(i%8)) != 0 {
				p := "ping " + strconv.Itoa(i)
				stream = AppendMaskedFrame(stream, OpPing, true, []byte(p), mask(frame))
				frame++
				want = append(want, ping(p))
			}
		}
		stream = AppendMaskedFrame(stream, op, true, rest, mask(frame))
		stream = AppendMaskedFrame(stream, OpClose, true, []byte(closePayload(CloseNormal, "done")), mask(frame+1))
		if !bytes.Equal(payload, original) {
			t.Fatalf(
				"AppendMaskedFrame modified its payload")
		}
		switch {
		case !isText:
			want = append(want, binMsg(string(payload)), closeEv(CloseNormal, "done"))
		case utf8.Valid(payload):
			want = append(want, text(string(payload)), closeEv(CloseNormal, "done"))
		default:
			// The error comes with the first fragment that cannot be
			// the start of valid UTF-8: some pings may come before it.
			want = nil
		}
		got := fuzzFeed(t, &DecoderConfig{}, 0, [][]byte{stream})
		if want == nil {
			if len(got) == 0 || got[len(got)-1] != failed(ErrInvalidUTF8) {
				t.Fatalf(
					"invalid text: got %v",
					got)
			}
			return
		}
		if len(got) != len(want) {
			t.Fatalf(
				"got %v\nwant %v",
				got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf(
					"event %d: got %v, want %v",
					i, got[i], want[i])
			}
		}
	})
}

// utf8Extendable reports whether some bytes appended to q make it valid
// UTF-8: the oracle for what UTF8Validator.Write must return.
func utf8Extendable(q []byte) bool {
	if utf8.Valid(q) {
		return true
	}
	// One byte from each continuation range a second byte may need.
	conts := []byte{0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf}
	buf := append([]byte(nil), q...)
	var try func(depth int) bool
	try = func(depth int) bool {
		if depth == 0 {
			return false
		}
		for _, c := range conts {
			buf = append(buf, c)
			if utf8.Valid(buf) || try(depth-1) {
				return true
			}
			buf = buf[:len(buf)-1]
		}
		return false
	}
	return try(3)
}

func FuzzUTF8(f *testing.F) {
	for _, tc := range utf8Cases {
		f.Add([]byte(tc.in), []byte{1, 2})
	}
	f.Add([]byte("0123456789abcdef☃0123456789abcdef"), []byte{16, 1, 1})
	f.Add([]byte("\xf0\x9f\x98\x80\xf0\x9f\x98"), []byte{1, 1, 1, 1, 2})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		want := utf8.Valid(data)
		if ValidUTF8(data) != want {
			t.Fatalf(
				"ValidUTF8(%q) = %v",
				data, !want)
		}
		var v UTF8Validator
		ok := true
		done := 0
		for _, c := range fuzzChunks(data, sizes) {
			ok = v.Write(c)
			done += len(c)
			if len(sizes) <= 16 && ok != utf8Extendable(data[:done]) {
				t.Fatalf(
					"Write after %q = %v",
					data[:done], ok)
			}
			if !ok {
				break
			}
		}
		if got := ok && v.Complete(); got != want {
			t.Fatalf(
				"validator says %v for %q",
				got, data)
		}
	})
}
