// Package jsondoc generates the compressible JSON documents of the
// permessage-deflate benchmarks: market-data ticks and chat messages, the
// traffic that WebSocket compression is for. Keys and symbols repeat,
// values vary (prices, quantities, timestamps, ids, words), so a document
// compresses roughly as real feeds do (alone at flate level 1: about 2.3×
// at 1 KiB, 3.3× at 4 KiB, 4.2× at 16 KiB), not like a run of one byte. Output is deterministic for a seed.
package jsondoc

import (
	"math/rand/v2"
	"strconv"
)

var (
	symbols = []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V", "XOM", "UNH", "BTC-USD", "ETH-USD", "EURUSD", "USDJPY"}
	venues  = []string{"XNAS", "XNYS", "ARCX", "BATS", "IEXG", "EDGX"}
	users   = []string{"ada", "brian", "chen", "dana", "emeka", "farah", "goran", "hana", "ivan", "jun", "kofi", "lena"}
	words   = []string{"the", "order", "book", "looks", "thin", "above", "resistance", "nice", "fill", "on", "that", "one",
		"anyone", "watching", "volume", "spike", "earnings", "call", "tomorrow", "close", "open", "gap", "up", "down",
		"support", "holding", "again", "stop", "moved", "to", "break", "even", "good", "luck", "everyone", "see", "you"}
)

// Doc returns a JSON document of exactly size bytes, appended to prefix:
// an object {"type":"batch","seq":...,"ticks":[...],"chat":[...],
// "pad":"..."} whose last string field takes up the remainder; under 512
// bytes, {"pad":"..."} alone (at least 10 bytes: shorter sizes give 10).
func Doc(prefix []byte, size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	start := len(prefix)
	if size < 512 {
		return pad(append(prefix, `{"pad":"`...), start, max(size, 10), r)
	}
	b := append(prefix, `{"type":"batch","seq":`...)
	b = strconv.AppendUint(b, r.Uint64N(1<<40), 10)
	b = append(b, `,"ticks":[`...)
	ts := 1764460800000 + r.Int64N(86400000)
	const tail = 64 // room for the chat/pad fields and the closing bytes
	for i := 0; len(b)-start < size*3/4-tail || i == 0; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		ts += r.Int64N(40)
		b = append(b, `{"sym":"`...)
		b = append(b, symbols[r.IntN(len(symbols))]...)
		b = append(b, `","px":`...)
		b = strconv.AppendFloat(b, 10+float64(r.IntN(90000))/100, 'f', 2, 64)
		b = append(b, `,"qty":`...)
		b = strconv.AppendInt(b, int64(1+r.IntN(50))*100, 10)
		b = append(b, `,"side":"`...)
		b = append(b, []string{"buy", "sell"}[r.IntN(2)]...)
		b = append(b, `","venue":"`...)
		b = append(b, venues[r.IntN(len(venues))]...)
		b = append(b, `","ts":`...)
		b = strconv.AppendInt(b, ts, 10)
		b = append(b, '}')
	}
	b = append(b, `],"chat":[`...)
	for i := 0; len(b)-start < size-tail-40 || i == 0; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"user":"`...)
		b = append(b, users[r.IntN(len(users))]...)
		b = append(b, `","id":`...)
		b = strconv.AppendUint(b, r.Uint64N(1<<32), 10)
		b = append(b, `,"text":"`...)
		for w := 0; w < 3+r.IntN(8); w++ {
			if w > 0 {
				b = append(b, ' ')
			}
			b = append(b, words[r.IntN(len(words))]...)
		}
		b = append(b, `"}`...)
	}
	return pad(append(b, `],"pad":"`...), start, size, r)
}

// pad fills b, a document started at b[start:] and inside an open string,
// with words up to size-2 bytes and closes the string and the object.
func pad(b []byte, start, size int, r *rand.Rand) []byte {
	// the remainder: words, cut to fit, then the closing `"}`
	for n := size - (len(b) - start) - 2; n > 0; {
		w := words[r.IntN(len(words))]
		if len(w)+1 > n {
			for ; n > 0; n-- {
				b = append(b, 'x')
			}
			break
		}
		b = append(b, w...)
		b = append(b, ' ')
		n -= len(w) + 1
	}
	if len(b)-start > size-2 { // the loops above overshot: cut and close
		b = b[:start+size-2]
	}
	return append(b, `"}`...)
}
