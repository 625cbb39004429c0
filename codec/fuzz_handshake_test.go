package codec

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// hsAliases reports whether s is nil or a sub-slice of head[:len(head)].
func hsAliases(head, s []byte) bool {
	if s == nil {
		return true
	}
	k := cap(head) - cap(s)
	if k < 0 || k+len(s) > len(head) {
		return false
	}
	if cap(s) == 0 {
		return k == cap(head)
	}
	return &s[:1][0] == &head[:k+1][k]
}

// FuzzHandshake feeds arbitrary bytes through HeadEnd at random splits, then
// ParseRequest, ValidateUpgrade, the accessors and the response writers.
// Invariants: no panic; end <= len(p) and end <= the cap; HeadEnd agrees with
// a plain search for CRLFCRLF; every field and yielded value aliases the head;
// a validated key decodes to 16 bytes; responses hold exactly one blank line,
// at their end.
func FuzzHandshake(f *testing.F) {
	for _, c := range hsRealClients {
		f.Add(c.head, uint64(1), uint16(0))
		f.Add(append(append([]byte{}, c.head...), 0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'), uint64(7), uint16(0))
	}
	f.Add(hsCRLF(hsValid), uint64(3), uint16(256))
	f.Add(hsCRLF(hsValid), uint64(5), uint16(64))
	f.Add([]byte("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"), uint64(2), uint16(0))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"), uint64(2), uint16(0))
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), uint64(2), uint16(0))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"), uint64(4), uint16(0))
	f.Add([]byte("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), uint64(4), uint16(0))
	f.Add([]byte("GET / HTTP/1.1\nHost: a\n\n"), uint64(4), uint16(0))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), uint64(4), uint16(0))
	f.Add([]byte("GET / HTTP/1.1\r\nCookie: a=1; b=\"2\"; c; =d\r\nSec-WebSocket-Extensions: x; a=\"1,2\", y\r\n\r\n"), uint64(9), uint16(0))
	f.Add([]byte("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Protocol: a\r\n\r\n"), uint64(11), uint16(0))
	f.Add([]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), uint64(1), uint16(0))
	f.Add([]byte(strings.Repeat("X-Pad: aaaaaaaa\r\n", 600)), uint64(1), uint16(0))
	f.Add([]byte("GET / HTTP/1.1\r\nX: "+strings.Repeat("a", 300)+"\r\n\r\n"), uint64(1), uint16(100))

	f.Fuzz(func(t *testing.T, data []byte, seed uint64, maxHead uint16) {
		limit := int(maxHead)
		eff := limit
		if eff <= 0 {
			eff = DefaultMaxHeadSize
		}
		refEnd := 0
		if i := bytes.Index(data[:min(len(data), eff)], []byte("\r\n\r\n")); i >= 0 {
			refEnd = i + 4
		}

		// Grow the input in random steps, carrying the hint along.
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		end, from, n := 0, 0, 0
		for {
			if n < len(data) {
				n += 1 + rng.IntN(min(len(data)-n, 97))
			}
			p := data[:n]
			e, s, err := HeadEnd(p, from, limit)
			if e < 0 || e > n || e > eff || s < 0 || s > n {
				t.Fatalf("HeadEnd(%d bytes, from %d, cap %d) = %d, %d, %v", n, from, limit, e, s, err)
			}
			if err != nil {
				if err != ErrHeadTooLarge || e != 0 || n <= eff || refEnd != 0 {
					t.Fatalf("HeadEnd(%d bytes, cap %d) = %d, %v; reference end %d", n, eff, e, err, refEnd)
				}
				break
			}
			if e > 0 {
				if e != refEnd {
					t.Fatalf("HeadEnd = %d, reference %d", e, refEnd)
				}
				end = e
				break
			}
			if refEnd != 0 && refEnd <= n {
				t.Fatalf("HeadEnd missed the end %d in %d bytes (from %d)", refEnd, n, from)
			}
			from = s
			if n == len(data) {
				break
			}
		}
		if end == 0 {
			return
		}

		head := data[:end]
		var r Request
		if err := ParseRequest(head, &r); err != nil {
			if err != ErrMalformedRequest && err != ErrHTTPVersion {
				t.Fatalf("ParseRequest: unexpected error %v", err)
			}
			if r.Method != nil || r.Head() != nil || r.IsUpgrade() {
				t.Fatal("Request not reset after an error")
			}
			return
		}
		for _, fld := range [][]byte{r.Method, r.URI, r.Path, r.RawQuery, r.Host, r.Origin, r.Key, r.Version, r.Head()} {
			if !hsAliases(head, fld) {
				t.Fatalf("field %q does not alias the head", fld)
			}
		}
		if len(r.Method) == 0 || len(r.URI) == 0 || !bytes.Equal(r.Head(), head) {
			t.Fatalf("Method %q URI %q", r.Method, r.URI)
		}
		var r2 Request
		if err := ParseRequest(head, &r2); err != nil || !bytes.Equal(r2.Key, r.Key) || r2.flags != r.flags {
			t.Fatal("second parse differs")
		}

		check := func(what string, v []byte) {
			if !hsAliases(head, v) || bytes.ContainsAny(v, "\r\n") {
				t.Fatalf("%s: %q does not alias the head or holds CR/LF", what, v)
			}
		}
		for _, name := range []string{"Host", "Upgrade", "Connection", "Cookie", "Sec-WebSocket-Protocol", "X"} {
			check("Header", r.Header(name))
			for v := range r.HeaderValues(name) {
				check("HeaderValues", v)
			}
		}
		var firstProto []byte
		lookups := 0 // bound the quadratic cross-checks below
		for p := range r.Protocols() {
			check("Protocols", p)
			if len(p) == 0 {
				t.Fatal("empty protocol yielded")
			}
			if lookups++; lookups < 16 && !r.HasProtocol(string(p)) {
				t.Fatalf("HasProtocol(%q) = false", p)
			}
			if firstProto == nil {
				firstProto = p
			}
		}
		for e := range r.Extensions() {
			check("Extensions", e)
		}
		for name, v := range r.Cookies() {
			check("Cookies name", name)
			check("Cookies value", v)
			if lookups++; lookups >= 32 {
				continue
			}
			if _, ok := r.Cookie(string(name)); !ok {
				t.Fatalf("Cookie(%q) not found", name)
			}
		}

		err := r.ValidateUpgrade()
		switch err {
		case nil:
			var key [18]byte
			if n, derr := base64.StdEncoding.Decode(key[:], r.Key); derr != nil || n != 16 {
				t.Fatalf("validated key %q decodes to %d bytes, %v", r.Key, n, derr)
			}
			if !r.IsUpgrade() || string(r.Method) != "GET" || len(r.Host) == 0 {
				t.Fatal("validated request lacks a rule")
			}
		case ErrMethodNotAllowed, ErrMissingHost, ErrNotUpgrade, ErrMissingConnUpgrade, ErrBadVersion, ErrBadKey:
			hsCheckResponse(t, AppendHandshakeError(nil, err.(*Error), nil))
		default:
			t.Fatalf("ValidateUpgrade: unexpected error %v", err)
		}

		// Responses, with header fields taken from the fuzz input.
		k := 0
		if len(data) > 0 {
			k = int(seed % uint64(len(data)+1))
		}
		extra := []HeaderField{{string(data[:k]), string(data[k:])}, {"X-Origin", string(r.Origin)}}
		hsCheckResponse(t, AppendUpgradeResponse(nil, r.Key, string(firstProto), extra))
		hsCheckResponse(t, AppendUpgradeResponse(nil, r.Key, string(data[k:]), extra))
		hsCheckResponse(t, AppendResponse(nil, int(maxHead), extra, string(data[:k]), nil))
	})
}

// hsCheckResponse checks a response head: exactly one CRLFCRLF, no bare CR
// or LF, no NUL, every header line "token: value".
func hsCheckResponse(t *testing.T, resp []byte) {
	t.Helper()
	i := bytes.Index(resp, []byte("\r\n\r\n"))
	if i < 0 || (bytes.HasPrefix(resp, []byte("HTTP/1.1 101 ")) && i+4 != len(resp)) {
		t.Fatalf("response blank line at %d of %d: %q", i, len(resp), resp)
	}
	head := resp[:i+2]
	if bytes.Count(head, []byte("\r")) != bytes.Count(head, []byte("\n")) ||
		bytes.Count(head, []byte("\r\n")) != bytes.Count(head, []byte("\n")) || bytes.IndexByte(head, 0) >= 0 {
		t.Fatalf("injected line break or NUL: %q", head)
	}
	lines := bytes.Split(head[:len(head)-2], []byte("\r\n"))
	for _, l := range lines[1:] {
		c := bytes.IndexByte(l, ':')
		if c <= 0 || !httpValidToken(string(l[:c])) {
			t.Fatalf("bad header line %q in %q", l, head)
		}
	}
}
