package pmd_test

import (
	"fmt"

	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// A connection with context takeover in both directions: each side keeps a
// 4 KiB Window; the (de)compressors themselves are borrowed per message.
func Example() {
	var out, in pmd.Window // the sender's and the receiver's history
	out.Init(4096)
	in.Init(4096)
	buf := make([]byte, 0, 1024) // the receiver's message buffer
	for _, msg := range []string{
		`{"type":"trade","sym":"BTC-USD","px":97123.5,"qty":3,"side":"buy","venue":"coinbase","ts":1732990000017,"trade_id":"7f3c9a","maker":false,"fees":{"ccy":"USD","amount":0.42}}`,
		`{"type":"trade","sym":"BTC-USD","px":97124.0,"qty":1,"side":"buy","venue":"coinbase","ts":1732990000034,"trade_id":"7f3c9b","maker":false,"fees":{"ccy":"USD","amount":0.14}}`,
	} {
		z := pmd.Deflate(nil, []byte(msg), out.Bytes())
		out.Append([]byte(msg))

		var err error
		buf, err = pmd.Inflate(buf[:0], z, in.Bytes(), 1<<20)
		if err != nil {
			panic(err) // ErrTooLarge: close 1009; ErrCorrupt: close 1007
		}
		in.Append(buf)
		fmt.Printf("%d -> %d bytes: %s\n", len(msg), len(z), buf)
	}
	// Output:
	// 173 -> 140 bytes: {"type":"trade","sym":"BTC-USD","px":97123.5,"qty":3,"side":"buy","venue":"coinbase","ts":1732990000017,"trade_id":"7f3c9a","maker":false,"fees":{"ccy":"USD","amount":0.42}}
	// 173 -> 29 bytes: {"type":"trade","sym":"BTC-USD","px":97124.0,"qty":1,"side":"buy","venue":"coinbase","ts":1732990000034,"trade_id":"7f3c9b","maker":false,"fees":{"ccy":"USD","amount":0.14}}
}
