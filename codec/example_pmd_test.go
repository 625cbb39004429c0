package codec_test

import (
	"fmt"

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
