package codec_test

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"

	"github.com/switchboard-ws/switchboard/codec"
)

// A server that allows permessage-deflate with context takeover answers a
// browser's offer in its 101. The first offer here is malformed (window
// bits run from 8 to 15), so the second is taken.
func ExampleDeflatePolicy_NegotiateDeflate() {
	head := "GET /feed HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16, permessage-deflate; client_max_window_bits\r\n\r\n"
	var req codec.Request
	if err := codec.ParseRequest([]byte(head), &req); err != nil {
		panic(err)
	}
	pol := codec.DeflatePolicy{Mode: codec.DeflateContextTakeover} // 4 KiB windows
	p, ok := pol.NegotiateDeflate(&req)
	fmt.Println(ok, p.String())
	fmt.Println("history kept: in", p.InboundWindow(), "out", p.OutboundWindow())
	// Output:
	// true permessage-deflate; client_max_window_bits=12
	// history kept: in 4096 out 4096
}

// A broadcast compressed once for every permessage-deflate connection: the
// message is compressed alone (here with compress/flate, whose window is
// 32 KiB: 15 bits), the sync flush's 0x00 0x00 0xff 0xff removed (RFC
// 7692 §7.2.1), and the frame records the window so that a server writes
// it only where the agreed window is at least as large.
func ExampleNewPreparedFrameDeflate() {
	msg := bytes.Repeat([]byte(`{"price":101.25,"side":"buy"} `), 20)
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = zw.Write(msg)
	_ = zw.Flush()
	z := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})

	f := codec.NewPreparedFrameDeflate(codec.OpText, z, 15)
	fmt.Printf("RSV %03b, window 2^%d, smaller: %v\n", f.RSV(), f.WindowBits(), len(f.Bytes()) < len(msg)/5)

	// A receiver inflates the payload with the tail put back.
	h, n, _ := codec.ParseHeader(f.Bytes())
	zr := flate.NewReader(bytes.NewReader(append(f.Bytes()[n:], 0, 0, 0xff, 0xff)))
	out, _ := io.ReadAll(io.LimitReader(zr, int64(len(msg))))
	fmt.Println(h.OpCode == codec.OpText, bytes.Equal(out, msg))
	// Output:
	// RSV 100, window 2^15, smaller: true
	// true true
}
