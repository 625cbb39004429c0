package codec

import (
	"strings"
	"testing"
)

// pmdRequest builds a parsed upgrade request with the given
// Sec-WebSocket-Extensions lines.
func pmdRequest(t testing.TB, lines ...string) *Request {
	var b strings.Builder
	b.WriteString("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
	for _, l := range lines {
		b.WriteString("Sec-WebSocket-Extensions: " + l + "\r\n")
	}
	b.WriteString("\r\n")
	var r Request
	if err := ParseRequest([]byte(b.String()), &r); err != nil {
		t.Fatalf("ParseRequest: %v", err)
	}
	return &r
}

func TestParseDeflateOffer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want DeflateOffer
		ok   bool
	}{
		{"permessage-deflate", DeflateOffer{}, true},
		{"PerMessage-Deflate", DeflateOffer{}, true},
		{"permessage-deflate; client_max_window_bits", DeflateOffer{ClientMaxWindowBits: 15}, true},
		{"permessage-deflate;client_max_window_bits=10", DeflateOffer{ClientMaxWindowBits: 10}, true},
		{`permessage-deflate; client_max_window_bits="10"`, DeflateOffer{ClientMaxWindowBits: 10}, true},
		{"permessage-deflate; server_max_window_bits=8", DeflateOffer{ServerMaxWindowBits: 8}, true},
		{"permessage-deflate ;\tserver_no_context_takeover ; client_no_context_takeover",
			DeflateOffer{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, true},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=9",
			DeflateOffer{true, true, 15, 9}, true},
		{"permessage-deflate; SERVER_MAX_WINDOW_BITS = 12", DeflateOffer{ServerMaxWindowBits: 12}, true},
		// Declined offers.
		{"x-webkit-deflate-frame", DeflateOffer{}, false},
		{"permessage-deflatex", DeflateOffer{}, false},
		{"", DeflateOffer{}, false},
		{"permessage-deflate;", DeflateOffer{}, false},
		{"permessage-deflate; foo", DeflateOffer{}, false},
		{"permessage-deflate; foo=1", DeflateOffer{}, false},
		{"permessage-deflate; server_max_window_bits", DeflateOffer{}, false},
		{"permessage-deflate; server_max_window_bits=", DeflateOffer{}, false},
		{"permessage-deflate; server_max_window_bits=7", DeflateOffer{}, false},
		{"permessage-deflate; server_max_window_bits=16", DeflateOffer{}, false},
		{"permessage-deflate; server_max_window_bits=08", DeflateOffer{}, false},
		{"permessage-deflate; client_max_window_bits=1a", DeflateOffer{}, false},
		{`permessage-deflate; client_max_window_bits="1`, DeflateOffer{}, false},
		{"permessage-deflate; client_max_window_bits=+9", DeflateOffer{}, false},
		{"permessage-deflate; server_no_context_takeover=1", DeflateOffer{}, false},
		{"permessage-deflate; client_no_context_takeover=", DeflateOffer{}, false},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", DeflateOffer{}, false},
		{"permessage-deflate; client_max_window_bits; client_max_window_bits=10", DeflateOffer{}, false},
		{"permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", DeflateOffer{}, false},
	} {
		got, ok := ParseDeflateOffer([]byte(tc.in))
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseDeflateOffer(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNegotiateDeflate(t *testing.T) {
	noCtx := DeflatePolicy{Mode: DeflateNoContextTakeover}
	ctx := DeflatePolicy{Mode: DeflateContextTakeover} // 12-bit windows by default
	ctx15 := DeflatePolicy{Mode: DeflateContextTakeover, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
	for _, tc := range []struct {
		name   string
		pol    DeflatePolicy
		lines  []string
		answer string // "" when declined
		in     int    // InboundWindow
		out    int    // OutboundWindow
	}{
		{"off", DeflatePolicy{}, []string{"permessage-deflate"}, "", 0, 0},
		{"no offer", noCtx, nil, "", 0, 0},
		{"other extension", noCtx, []string{"x-webkit-deflate-frame"}, "", 0, 0},
		{"browser, no context takeover", noCtx, []string{"permessage-deflate; client_max_window_bits"},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover", 0, 0},
		{"browser, context takeover", ctx, []string{"permessage-deflate; client_max_window_bits"},
			"permessage-deflate; client_max_window_bits=12", 4096, 4096},
		{"browser, full windows", ctx15, []string{"permessage-deflate; client_max_window_bits"},
			"permessage-deflate; client_max_window_bits=15", 32768, 32768},
		{"client window smaller than policy", ctx, []string{"permessage-deflate; client_max_window_bits=10"},
			"permessage-deflate; client_max_window_bits=10", 1024, 4096},
		{"client window 8 counts as 9", ctx, []string{"permessage-deflate; client_max_window_bits=8"},
			"permessage-deflate; client_max_window_bits=8", 512, 4096},
		{"client window unbounded: no client context", ctx, []string{"permessage-deflate"},
			"permessage-deflate; client_no_context_takeover", 0, 4096},
		{"client window unbounded, policy 15", ctx15, []string{"permessage-deflate"},
			"permessage-deflate", 32768, 32768},
		{"client asks no context takeover", ctx, []string{"permessage-deflate; client_no_context_takeover; client_max_window_bits"},
			"permessage-deflate; client_no_context_takeover", 0, 4096},
		{"client asks server no context takeover", ctx, []string{"permessage-deflate; server_no_context_takeover; client_max_window_bits=11"},
			"permessage-deflate; server_no_context_takeover; client_max_window_bits=11", 2048, 0},
		{"server_max_window_bits=15 echoed", noCtx, []string{"permessage-deflate; server_max_window_bits=15"},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15", 0, 0},
		{"server_max_window_bits<15: each message alone", ctx, []string{"permessage-deflate; server_max_window_bits=10; client_max_window_bits"},
			"permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12", 4096, 0},
		{"server_max_window_bits=8", noCtx, []string{"permessage-deflate; server_max_window_bits=8"},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8", 0, 0},
		// RFC 7692 §5.1 / §7.1.3: several offers, the first acceptable one wins.
		{"fallback offer in one header", ctx, []string{"permessage-deflate; server_max_window_bits=16, permessage-deflate"},
			"permessage-deflate; client_no_context_takeover", 0, 4096},
		{"fallback offer in a second header", ctx, []string{"permessage-deflate; bogus", "foo, permessage-deflate; client_max_window_bits=13"},
			"permessage-deflate; client_max_window_bits=12", 4096, 4096},
		{"first acceptable wins", noCtx, []string{"permessage-deflate; client_max_window_bits=10, permessage-deflate; server_max_window_bits=15"},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover", 0, 0},
		{"all malformed", ctx, []string{"permessage-deflate; a, permessage-deflate; server_max_window_bits"}, "", 0, 0},
		{"quoted comma", ctx15, []string{`permessage-deflate; client_max_window_bits="1,5", permessage-deflate`},
			"permessage-deflate", 32768, 32768},
		{"policy clamps", DeflatePolicy{Mode: DeflateContextTakeover, ServerMaxWindowBits: 99, ClientMaxWindowBits: 3},
			[]string{"permessage-deflate; client_max_window_bits"}, "permessage-deflate; client_max_window_bits=8", 512, 32768},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := pmdRequest(t, tc.lines...)
			p, ok := tc.pol.NegotiateDeflate(r)
			got := ""
			if ok {
				got = p.String()
			}
			if got != tc.answer {
				t.Fatalf("answer %q, want %q", got, tc.answer)
			}
			if ok && (p.InboundWindow() != tc.in || p.OutboundWindow() != tc.out) {
				t.Fatalf("windows in %d out %d, want %d %d", p.InboundWindow(), p.OutboundWindow(), tc.in, tc.out)
			}
		})
	}
}

func TestNegotiateDeflateAllocs(t *testing.T) {
	r := pmdRequest(t, "foo, permessage-deflate; bogus", "permessage-deflate; client_max_window_bits")
	pol := DeflatePolicy{Mode: DeflateContextTakeover}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() {
		p, ok := pol.NegotiateDeflate(r)
		if !ok {
			t.Fatal("declined")
		}
		buf = p.AppendExtension(buf[:0])
	}); n != 0 {
		t.Fatalf("%v allocations per negotiation, want 0", n)
	}
}

// TestDeflateAnswerInUpgrade checks the answer travels in the 101 as an
// extra header field.
func TestDeflateAnswerInUpgrade(t *testing.T) {
	r := pmdRequest(t, "permessage-deflate; client_max_window_bits")
	p, ok := (&DeflatePolicy{Mode: DeflateNoContextTakeover}).NegotiateDeflate(r)
	if !ok {
		t.Fatal("declined")
	}
	resp := string(AppendUpgradeResponse(nil, r.Key, "", []HeaderField{{"Sec-WebSocket-Extensions", p.String()}}))
	want := "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n"
	if !strings.HasSuffix(resp, want) {
		t.Fatalf("response %q lacks %q", resp, want)
	}
}
