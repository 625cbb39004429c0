package tlsrec

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
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

// FuzzKeyLogWrite feeds arbitrary key log lines to KeyLog.Write: it must
// never panic, and a traffic secret it accepts is exactly the hex after
// the line's second space (at most 48 bytes).
func FuzzKeyLogWrite(f *testing.F) {
	f.Add([]byte("CLIENT_TRAFFIC_SECRET_0 abab 0102\n"))
	f.Add([]byte("SERVER_TRAFFIC_SECRET_0 ab 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\r\n"))
	f.Add([]byte("SERVER_TRAFFIC_SECRET_0  \n"))
	f.Add([]byte("CLIENT_HANDSHAKE_TRAFFIC_SECRET x y\n"))
	f.Fuzz(func(t *testing.T, line []byte) {
		var k KeyLog
		n, err := k.Write(line)
		if err != nil {
			if c, s := k.Secrets(); c != nil || s != nil {
				t.Fatal("a rejected line left a secret")
			}
			return
		}
		if n != len(line) {
			t.Fatalf("wrote %d of %d", n, len(line))
		}
		c, s := k.Secrets()
		got := c
		if s != nil {
			got = s
		}
		if got == nil {
			return
		}
		if c != nil && s != nil {
			t.Fatal("one line set both secrets")
		}
		f := bytes.SplitN(line, []byte(" "), 3)
		if len(f) != 3 {
			t.Fatalf("secret %x from a line without two spaces", got)
		}
		want := make([]byte, len(got))
		if _, err := hex.Decode(want, bytes.TrimRight(f[2], "\r\n")); err != nil || !bytes.Equal(want, got) || len(got) > maxSecret {
			t.Fatalf("secret %x from %q", got, line)
		}
	})
}
