package codec_test

import (
	"fmt"

	"github.com/switchboard-ws/switchboard/codec"
)

// A connection's read loop: append what arrived, decode until need-more,
// keep what was not consumed.
func ExampleDecoder_Decode() {
	cfg := &codec.DecoderConfig{MaxMessageSize: 1 << 16}
	var d codec.Decoder
	d.Init(cfg)
	defer d.Release()

	mask := [4]byte{1, 2, 3, 4}
	var wire []byte
	wire = codec.AppendMaskedFrame(wire, codec.OpText, false, []byte("Hello, "), mask)
	wire = codec.AppendMaskedFrame(wire, codec.OpPing, true, []byte("are you there?"), mask)
	wire = codec.AppendMaskedFrame(wire, codec.OpContinuation, true, []byte("wörld"), mask)
	wire = codec.AppendMaskedFrame(wire, codec.OpClose, true, []byte{0x03, 0xe8, 'b', 'y', 'e'}, mask)

	var in []byte
	for _, read := range [][]byte{wire[:5], wire[5:30], wire[30:]} { // as the socket delivers it
		in = append(in, read...)
		for {
			msg, n, err := d.Decode(in)
			if err != nil {
				fmt.Println("close with", err.(*codec.Error).Code)
				return
			}
			if n == 0 {
				break // need more
			}
			in = in[n:]
			switch msg.Kind {
			case codec.KindNone:
				// a fragment; the message is not complete yet
			case codec.KindClose:
				fmt.Printf("%v %d %q\n", msg.Kind, msg.Code, msg.Reason)
			default:
				fmt.Printf("%v %q\n", msg.Kind, msg.Payload)
			}
		}
	}
	// Output:
	// ping "are you there?"
	// text "Hello, wörld"
	// close 1000 "bye"
}

func ExampleAppendFrame() {
	frame := codec.AppendFrame(nil, codec.OpText, []byte("Hello"))
	fmt.Printf("% x\n", frame)
	frame = codec.AppendCloseFrame(frame[:0], codec.CloseGoingAway, "restart")
	fmt.Printf("% x\n", frame)
	// Output:
	// 81 05 48 65 6c 6c 6f
	// 88 09 03 e9 72 65 73 74 61 72 74
}

// Broadcast: encode once, write the same bytes to every subscriber.
func ExampleNewPreparedFrame() {
	f := codec.NewPreparedFrame(codec.OpText, []byte(`{"price":42}`))
	fmt.Println(f.OpCode() == codec.OpText, f.PayloadLen(), len(f.Bytes()))
	fmt.Printf("% x\n", f.Bytes()[:2])
	// Output:
	// true 12 14
	// 81 0c
}

func ExampleValidCloseCode() {
	for _, code := range []codec.CloseCode{1000, 1004, 1005, 1011, 2000, 3000, 4999, 5000} {
		fmt.Println(code, codec.ValidCloseCode(code))
	}
	// Output:
	// 1000 true
	// 1004 false
	// 1005 false
	// 1011 true
	// 2000 false
	// 3000 true
	// 4999 true
	// 5000 false
}

// Many connections that each start a large message and stall: a shared
// Budget bounds what they hold together, and the one that would pass it
// fails with 1013 while the others go on.
func ExampleBudget() {
	budget := codec.NewBudget(100 << 10) // 100 KiB for all decoders
	cfg := &codec.DecoderConfig{Budget: budget}
	mask := [4]byte{1, 2, 3, 4}
	frame := codec.AppendMaskedFrame(nil, codec.OpBinary, true, make([]byte, 60<<10), mask)

	decoders := make([]codec.Decoder, 3)
	for i := range decoders {
		d := &decoders[i]
		d.Init(cfg)
		_, n, err := d.Decode(append([]byte(nil), frame[:40<<10]...)) // 40 KiB arrived
		fmt.Println("decoder", i, "consumed", n, "err", err, "held", budget.Used())
	}
	for i := range decoders {
		decoders[i].Release()
	}
	fmt.Println("held after release:", budget.Used(), "refused:", budget.Refused())
	// Output:
	// decoder 0 consumed 40960 err <nil> held 40952
	// decoder 1 consumed 40960 err <nil> held 81904
	// decoder 2 consumed 0 err websocket: 1013 server busy: inbound memory budget reached held 81904
	// held after release: 0 refused: 1
}
