package tlsrec

import (
	"bytes"
	"crypto/tls"
	"testing"
)

// FuzzRead feeds arbitrary records, and arbitrary inner plaintexts sealed
// under the right key, to Conn.Read: it must never panic, must return an
// error for anything but well-formed input, and must append nothing on
// error.
func FuzzRead(f *testing.F) {
	f.Add([]byte("hi\x17"), false)
	f.Add([]byte("\x18\x00\x00\x01\x01\x16"), false)
	f.Add([]byte("\x01\x00\x15"), false)
	f.Add([]byte{23, 3, 3, 0, 17, 1, 2, 3}, true)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		peer, c := pair(t, tls.TLS_AES_128_GCM_SHA256)
		var pc, cc Cipher
		rec := data
		if !raw {
			if len(data) > MaxPlaintext+256 {
				return
			}
			rec = seal(t, &peer.Out, &pc, data)
		}
		prefix := []byte("keep")
		out, _, err := c.Read(&cc, rec, prefix)
		if err != nil && !bytes.Equal(out, prefix) {
			t.Fatalf("error %v but output changed: %q", err, out)
		}
		if raw && err == nil && len(rec) > 0 {
			t.Fatalf("a random record opened: %x", rec)
		}
	})
}
