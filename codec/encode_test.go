package codec

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestRFC6455_5_7_Encode checks the encoders against §5.7's examples.
func TestRFC6455_5_7_Encode(t *testing.T) {
	hello := []byte("Hello")
	cases := []struct {
		name string
		got  []byte
		want []byte
	}{
		{
			name: "single-frame unmasked text",
			got:  AppendFrame(nil, OpText, hello),
			want: []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		},
		{
			name: "single-frame masked text",
			got:  AppendMaskedFrame(nil, OpText, true, hello, testMask),
			want: []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		},
		{
			name: "fragmented unmasked text",
			got:  AppendFragment(AppendFragment(nil, OpText, false, hello[:3]), OpContinuation, true, hello[3:]),
			want: []byte{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f},
		},
		{
			name: "unmasked ping",
			got:  AppendFrame(nil, OpPing, hello),
			want: []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		},
		{
			name: "masked pong",
			got:  AppendMaskedFrame(nil, OpPong, true, hello, testMask),
			want: []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		},
		{
			name: "256 bytes binary",
			got:  AppendFrame(nil, OpBinary, make([]byte, 256))[:4],
			want: []byte{0x82, 0x7e, 0x01, 0x00},
		},
		{
			name: "64KiB binary",
			got:  AppendFrame(nil, OpBinary, make([]byte, 65536))[:10],
			want: []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0},
		},
		{
			name: "appends after existing bytes",
			got:  AppendFrame([]byte("xy"), OpBinary, []byte{7}),
			want: []byte{'x', 'y', 0x82, 0x01, 7},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Equal(tc.got, tc.want) {
				t.Fatalf(
					"got % x, want % x",
					tc.got, tc.want)
			}
		})
	}
}

// TestRFC6455_5_2_PutHeaderRoundTrip checks that ParseHeader reads back
// what PutHeader writes, at every length encoding boundary.
func TestRFC6455_5_2_PutHeaderRoundTrip(t *testing.T) {
	lengths := []int64{0, 1, 125, 126, 127, 0xffff, 0x10000, 1 << 32, 1<<63 - 1}
	for _, length := range lengths {
		for _, mask := range []*[4]byte{nil, &testMask} {
			for _, rsv := range []uint8{0, 0b100, 0b111} {
				for _, fin := range []bool{false, true} {
					name := fmt.Sprintf("len=%d masked=%v rsv=%b fin=%v", length, mask != nil, rsv, fin)
					var b [MaxHeaderSize]byte
					n := PutHeader(b[:], fin, rsv, OpBinary, length, mask)
					if n != headerSize(length, mask != nil) {
						t.Fatalf(
							"%s: size %d, want %d",
							name, n, headerSize(length, mask != nil))
					}
					h, hn, err := ParseHeader(b[:n])
					want := Header{Length: length, OpCode: OpBinary, Rsv: rsv, Fin: fin, Masked: mask != nil}
					if mask != nil {
						want.Mask = *mask
					}
					if err != nil || hn != n || h != want {
						t.Fatalf(
							"%s: got %+v, %d, %v; want %+v, %d",
							name, h, hn, err, want, n)
					}
				}
			}
		}
	}
}

func TestAppendMaskedFrameKeepsPayload(t *testing.T) {
	payload := []byte("do not touch")
	frame := AppendMaskedFrame(nil, OpText, true, payload, testMask)
	if string(payload) != "do not touch" {
		t.Fatalf(
			"payload modified: %q",
			payload)
	}
	var d Decoder
	d.Init(&clientConfig)
	msg, n, err := d.Decode(frame)
	if err != nil || n != len(frame) || string(msg.Payload) != "do not touch" {
		t.Fatalf(
			"decoded %v n=%d err=%v",
			toEvent(msg), n, err)
	}
}

func TestPreparedFrame(t *testing.T) {
	for _, size := range []int{0, 1, 125, 126, 0xffff, 0x10000, 100000} {
		for _, op := range []OpCode{OpText, OpBinary, OpPing} {
			payload := bytes.Repeat([]byte{'p'}, size)
			f := NewPreparedFrame(op, payload)
			if size > 0 {
				payload[0] = 'q' // the frame owns a copy
			}
			want := AppendFrame(nil, op, bytes.Repeat([]byte{'p'}, size))
			if !bytes.Equal(f.Bytes(), want) {
				t.Fatalf(
					"size %d op %v: Bytes differ from AppendFrame",
					size, op)
			}
			if f.OpCode() != op || f.PayloadLen() != size || cap(f.Bytes()) != len(want) {
				t.Fatalf(
					"size %d op %v: OpCode %v PayloadLen %d cap %d",
					size, op, f.OpCode(), f.PayloadLen(), cap(f.Bytes()))
			}
		}
	}
}

func TestPreparedFrameRSV(t *testing.T) {
	for _, size := range []int{0, 125, 126, 0x10000} {
		payload := bytes.Repeat([]byte{'z'}, size)
		f := NewPreparedFrameRSV(OpBinary, 0b100, payload)
		h, n, err := ParseHeader(f.Bytes())
		if err != nil || !h.Fin || h.Rsv != 0b100 || h.OpCode != OpBinary || h.Length != int64(size) {
			t.Fatalf("size %d: header %+v err %v", size, h, err)
		}
		if !bytes.Equal(f.Bytes()[n:], payload) {
			t.Fatalf("size %d: payload differs", size)
		}
		if f.RSV() != 0b100 || f.OpCode() != OpBinary || f.PayloadLen() != size {
			t.Fatalf("size %d: RSV %03b OpCode %v PayloadLen %d", size, f.RSV(), f.OpCode(), f.PayloadLen())
		}
		if g := NewPreparedFrame(OpText, payload); g.RSV() != 0 {
			t.Fatalf("plain frame: RSV %03b", g.RSV())
		}
	}
}

// A compressed prepared frame carries the window its payload stays within
// (outside the frame's bytes); other frames report 0.
func TestPreparedFrameWindowBits(t *testing.T) {
	payload := bytes.Repeat([]byte{'z'}, 300)
	for _, tc := range []struct {
		name string
		f    *PreparedFrame
		rsv  byte
		want int
	}{
		{"plain", NewPreparedFrame(OpText, payload), 0, 0},
		{"RSV1", NewPreparedFrameRSV(OpText, 0b100, payload), 0b100, 15},
		{"RSV2", NewPreparedFrameRSV(OpText, 0b010, payload), 0b010, 0},
		{"deflate 12", NewPreparedFrameDeflate(OpBinary, payload, 12), 0b100, 12},
		{"deflate 9", NewPreparedFrameDeflate(OpText, payload, 9), 0b100, 9},
		{"deflate clamped up", NewPreparedFrameDeflate(OpText, payload, 3), 0b100, 8},
		{"deflate clamped down", NewPreparedFrameDeflate(OpText, payload, 20), 0b100, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.f.WindowBits() != tc.want || tc.f.RSV() != tc.rsv || tc.f.PayloadLen() != len(payload) {
				t.Fatalf("WindowBits %d RSV %03b len %d", tc.f.WindowBits(), tc.f.RSV(), tc.f.PayloadLen())
			}
			h, n, err := ParseHeader(tc.f.Bytes())
			if err != nil || h.Rsv != tc.rsv || !bytes.Equal(tc.f.Bytes()[n:], payload) || len(tc.f.Bytes()) != n+len(payload) {
				t.Fatalf("frame bytes: %+v %v", h, err)
			}
		})
	}
}

func TestEncodeAllocs(t *testing.T) {
	payload := []byte(strings.Repeat("x", 300))
	buf := make([]byte, 0, 1024)
	if a := testing.AllocsPerRun(100, func() {
		buf = AppendFrame(buf[:0], OpText, payload)
		buf = AppendMaskedFrame(buf, OpBinary, false, payload, testMask)
		buf = AppendCloseFrame(buf, CloseNormal, "bye")
	}); a != 0 {
		t.Errorf(
			"append: %v allocs",
			a)
	}
	if a := testing.AllocsPerRun(100, func() { NewPreparedFrame(OpText, payload) }); a != 1 {
		t.Errorf(
			"NewPreparedFrame: %v allocs, want 1",
			a)
	}
}
