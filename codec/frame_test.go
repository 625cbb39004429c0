package codec

import (
	"fmt"
	"testing"
)

func TestRFC6455_5_2_ParseHeader(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	cases := []struct {
		name string
		in   []byte
		want Header
		n    int
	}{
		{
			name: "final unmasked text, 7-bit length",
			in:   []byte{0x81, 0x05},
			want: Header{Length: 5, OpCode: OpText, Fin: true},
			n:    2,
		},
		{
			name: "non-final masked binary with mask",
			in:   []byte{0x02, 0x80 | 0x7d, 1, 2, 3, 4},
			want: Header{Length: 125, OpCode: OpBinary, Mask: mask, Masked: true},
			n:    6,
		},
		{
			name: "continuation with RSV1 and RSV3",
			in:   []byte{0x80 | 0x40 | 0x10, 0x00},
			want: Header{OpCode: OpContinuation, Fin: true, Rsv: 0b101},
			n:    2,
		},
		{
			name: "16-bit length, smallest",
			in:   []byte{0x82, 0x7e, 0x00, 0x7e},
			want: Header{Length: 126, OpCode: OpBinary, Fin: true},
			n:    4,
		},
		{
			name: "16-bit length, largest, masked",
			in:   []byte{0x82, 0xfe, 0xff, 0xff, 1, 2, 3, 4},
			want: Header{Length: 0xffff, OpCode: OpBinary, Fin: true, Mask: mask, Masked: true},
			n:    8,
		},
		{
			name: "64-bit length, smallest",
			in:   []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0},
			want: Header{Length: 0x10000, OpCode: OpBinary, Fin: true},
			n:    10,
		},
		{
			name: "64-bit length, largest, masked",
			in:   []byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4},
			want: Header{Length: 1<<63 - 1, OpCode: OpBinary, Fin: true, Mask: mask, Masked: true},
			n:    14,
		},
		{
			name: "ping with 125 bytes",
			in:   []byte{0x89, 0x7d},
			want: Header{Length: 125, OpCode: OpPing, Fin: true},
			n:    2,
		},
		{
			name: "close, pong",
			in:   []byte{0x8a, 0x00},
			want: Header{OpCode: OpPong, Fin: true},
			n:    2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Trailing bytes are not part of the header.
			in := append(append([]byte(nil), tc.in...), 0xee, 0xee)
			h, n, err := ParseHeader(in)
			if err != nil || n != tc.n || h != tc.want {
				t.Fatalf(
					"got %+v, %d, %v; want %+v, %d",
					h, n, err, tc.want, tc.n)
			}
			for i := range len(tc.in) {
				h, n, err := ParseHeader(tc.in[:i])
				if err != nil || n != 0 || h != (Header{}) {
					t.Fatalf(
						"prefix %d: got %+v, %d, %v; want need more",
						i, h, n, err)
				}
			}
		})
	}
}

func TestRFC6455_5_2_ReservedOpcode(t *testing.T) {
	for op := range 16 {
		reserved := (op >= 3 && op <= 7) || op >= 0xb
		_, n, err := ParseHeader([]byte{0x80 | byte(op), 0x80, 1, 2, 3, 4})
		if reserved && (err != ErrReservedOpcode || n != 0) {
			t.Errorf(
				"opcode %#x: n=%d err=%v, want ErrReservedOpcode",
				op, n, err)
		}
		if !reserved && err != nil {
			t.Errorf(
				"opcode %#x: %v",
				op, err)
		}
	}
}

func TestRFC6455_5_2_PayloadLength(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		err  error
	}{
		{
			name: "16-bit length of 0",
			in:   []byte{0x82, 0x7e, 0x00, 0x00},
			err:  ErrNonMinimalLength,
		},
		{
			name: "16-bit length of 125",
			in:   []byte{0x82, 0x7e, 0x00, 0x7d},
			err:  ErrNonMinimalLength,
		},
		{
			name: "64-bit length of 0",
			in:   []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0},
			err:  ErrNonMinimalLength,
		},
		{
			name: "64-bit length of 0xffff",
			in:   []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
			err:  ErrNonMinimalLength,
		},
		{
			name: "64-bit length with the MSB set",
			in:   []byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0},
			err:  ErrLengthOverflow,
		},
		{
			name: "64-bit length of all ones",
			in:   []byte{0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4},
			err:  ErrLengthOverflow,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := ParseHeader(tc.in)
			if err != tc.err || n != 0 || h != (Header{}) {
				t.Fatalf(
					"got %+v, %d, %v; want %v",
					h, n, err, tc.err)
			}
			// The length is not judged before all its bytes are here.
			if _, n, err := ParseHeader(tc.in[:len(tc.in)-1]); n != 0 || err != nil {
				t.Fatalf(
					"short header: n=%d err=%v",
					n, err)
			}
		})
	}
}

func TestRFC6455_5_5_ControlFrameTooLong(t *testing.T) {
	for _, op := range []byte{0x8, 0x9, 0xa} {
		for _, b1 := range []byte{0x7e, 0xfe, 0x7f, 0xff} {
			t.Run(fmt.Sprintf("op %#x len byte %#x", op, b1), func(t *testing.T) {
				// Decided from the first two bytes.
				_, n, err := ParseHeader([]byte{0x80 | op, b1})
				if err != ErrControlTooLong || n != 0 {
					t.Fatalf(
						"n=%d err=%v, want ErrControlTooLong",
						n, err)
				}
			})
		}
	}
}

func TestRFC6455_5_5_ControlFragmented(t *testing.T) {
	for _, op := range []byte{0x8, 0x9, 0xa} {
		_, n, err := ParseHeader([]byte{op, 0x00})
		if err != ErrControlFragmented || n != 0 {
			t.Errorf(
				"op %#x: n=%d err=%v, want ErrControlFragmented",
				op, n, err)
		}
	}
	// Reserved opcode comes first: byte order decides.
	if _, _, err := ParseHeader([]byte{0x0b, 0x7e}); err != ErrReservedOpcode {
		t.Errorf(
			"reserved control opcode without FIN: %v",
			err)
	}
	// Both fragmented and too long: the FIN bit is in the first byte.
	if _, _, err := ParseHeader([]byte{0x09, 0x7e}); err != ErrControlFragmented {
		t.Errorf(
			"fragmented long ping: %v",
			err)
	}
}

func TestParseHeaderAllocs(t *testing.T) {
	in := []byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}
	if a := testing.AllocsPerRun(100, func() { ParseHeader(in) }); a != 0 {
		t.Fatalf(
			"%v allocs",
			a)
	}
}
