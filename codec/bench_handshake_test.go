package codec

import "testing"

// BenchmarkHandshake: HeadEnd + ParseRequest + ValidateUpgrade on a typical
// Chrome opening handshake.
func BenchmarkHandshake(b *testing.B) {
	head := hsRealClients[0].head
	var r Request
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		end, _, err := HeadEnd(head, 0, 0)
		if err != nil || end != len(head) {
			b.Fatal(end, err)
		}
		if err := ParseRequest(head[:end], &r); err != nil {
			b.Fatal(err)
		}
		if err := r.ValidateUpgrade(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandshakeAndResponse: the whole server side of a Chrome handshake,
// 101 response included, into a reused buffer.
func BenchmarkHandshakeAndResponse(b *testing.B) {
	head := hsRealClients[0].head
	var r Request
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		end, _, _ := HeadEnd(head, 0, 0)
		if err := ParseRequest(head[:end], &r); err != nil {
			b.Fatal(err)
		}
		if err := r.ValidateUpgrade(); err != nil {
			b.Fatal(err)
		}
		buf = AppendUpgradeResponse(buf[:0], r.Key, "", nil)
	}
}

// BenchmarkAppendUpgradeResponse: the 101 response into a reused buffer.
func BenchmarkAppendUpgradeResponse(b *testing.B) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	extra := []HeaderField{{"Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover"}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendUpgradeResponse(buf[:0], key, "chat", extra)
	}
}

// BenchmarkPutAcceptKey: SHA-1 and base64 of one key.
func BenchmarkPutAcceptKey(b *testing.B) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	var dst [AcceptKeySize]byte
	b.ReportAllocs()
	for b.Loop() {
		PutAcceptKey(dst[:], key)
	}
}
