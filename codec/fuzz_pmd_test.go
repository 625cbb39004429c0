package codec

import (
	"bytes"
	"testing"
)

// FuzzNegotiateDeflate feeds arbitrary Sec-WebSocket-Extensions values to
// ParseDeflateOffer and NegotiateDeflate under every policy. Invariants: no
// panic; an accepted answer re-parses (as an offer grammar) to the values it
// announces; it answers the offer it claims to (some offer in the header
// parses to one the policy accepts with the same answer); it honours that
// offer (RFC 7692 §7.1: server_max_window_bits echoed when offered, never
// above the offer; client_max_window_bits only when offered and never above
// its value; server_no_context_takeover when asked); windows stay bounded.
func FuzzNegotiateDeflate(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=9",
		"permessage-deflate; server_max_window_bits=10, permessage-deflate",
		`permessage-deflate; client_max_window_bits="12"`,
		"permessage-deflate; a=1, x, permessage-deflate;client_max_window_bits=8",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(0x2c))
	}
	f.Fuzz(func(t *testing.T, value []byte, sel uint8) {
		if bytes.ContainsAny(value, "\r\n") {
			return
		}
		head := append([]byte("GET / HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Extensions: "), value...)
		head = append(head, "\r\n\r\n"...)
		var r Request
		if ParseRequest(head, &r) != nil {
			return
		}
		pol := DeflatePolicy{Mode: DeflateMode(sel % 4), ServerMaxWindowBits: int(sel>>2) % 17, ClientMaxWindowBits: int(sel>>4) % 17}
		p, ok := pol.NegotiateDeflate(&r)
		if !ok {
			return
		}
		if pol.Mode != DeflateNoContextTakeover && pol.Mode != DeflateContextTakeover {
			t.Fatalf("mode %d accepted", pol.Mode)
		}
		ans := p.AppendExtension(nil)
		back, ok := ParseDeflateOffer(ans)
		if !ok || back.ServerNoContextTakeover != p.ServerNoContextTakeover ||
			back.ClientNoContextTakeover != p.ClientNoContextTakeover ||
			back.ServerMaxWindowBits != p.ServerMaxWindowBits || back.ClientMaxWindowBits != p.ClientMaxWindowBits {
			t.Fatalf("answer %q re-parses to %+v, %v from %+v", ans, back, ok, p)
		}
		var answered *DeflateOffer
		for ext := range r.Extensions() {
			o, ok := ParseDeflateOffer(ext)
			if !ok {
				continue
			}
			if q, ok := pol.Accept(o); ok {
				if q != p {
					t.Fatalf("answered %+v, the first acceptable offer gives %+v", p, q)
				}
				answered = &o
				break
			}
		}
		if answered == nil {
			t.Fatalf("answer %q to no offer in %q", ans, value)
		}
		o := *answered
		if (o.ServerMaxWindowBits != 0) != (p.ServerMaxWindowBits != 0) || p.ServerMaxWindowBits > o.ServerMaxWindowBits {
			t.Fatalf("server_max_window_bits %d for offer %d", p.ServerMaxWindowBits, o.ServerMaxWindowBits)
		}
		if p.ServerMaxWindowBits != 0 && p.ServerMaxWindowBits < DeflateMaxWindowBits && !p.ServerNoContextTakeover {
			t.Fatalf("server_max_window_bits %d with context takeover", p.ServerMaxWindowBits)
		}
		if p.ClientMaxWindowBits > o.ClientMaxWindowBits {
			t.Fatalf("client_max_window_bits %d for offer %d", p.ClientMaxWindowBits, o.ClientMaxWindowBits)
		}
		if o.ServerNoContextTakeover && !p.ServerNoContextTakeover {
			t.Fatal("server_no_context_takeover asked, not granted")
		}
		if p.InboundWindow() > 1<<15 || p.OutboundWindow() > 1<<15 {
			t.Fatalf("windows %d %d", p.InboundWindow(), p.OutboundWindow())
		}
	})
}
