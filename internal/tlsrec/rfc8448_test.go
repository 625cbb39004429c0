package tlsrec

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 8448 §3 (Simple 1-RTT Handshake, TLS_AES_128_GCM_SHA256): the
// application traffic secrets, the keys and IVs derived from them, and
// the protected application data records of both sides. The server's
// record has sequence number 1: its NewSessionTicket took 0.
var rfc8448 = []struct {
	name          string
	secret        string
	key, iv       string
	seq           uint64
	plain, record string
}{
	{
		name:   "client",
		secret: "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
		key:    "17422dda596ed5d9acd890e3c63f5051",
		iv:     "5b78923dee08579033e523d9",
		seq:    0,
		plain: `00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f
			20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31`,
		record: `17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa
			66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd
			1e 3d ea e6 3a ee bb 21 69 49 15 e4`,
	},
	{
		name:   "server",
		secret: "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
		key:    "9f02283b6c9c07efc26bb9f2ac92e356",
		iv:     "cf782b88dd83549aadf1e984",
		seq:    1,
		plain: `00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f
			20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31`,
		record: `17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f
			82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2
			ab f3 32 54 0d d0 32 e1 67 c2 95 5d`,
	},
}

func TestRFC8448(t *testing.T) {
	const suite = tls.TLS_AES_128_GCM_SHA256
	for _, v := range rfc8448 {
		t.Run(v.name, func(t *testing.T) {
			secret := unhex(t, v.secret)
			key, err := ExpandLabel(suite, secret, "key", nil, 16)
			if err != nil || !bytes.Equal(key, unhex(t, v.key)) {
				t.Fatalf("key = %x, %v; want %s", key, err, v.key)
			}
			iv, err := ExpandLabel(suite, secret, "iv", nil, 12)
			if err != nil || !bytes.Equal(iv, unhex(t, v.iv)) {
				t.Fatalf("iv = %x, %v; want %s", iv, err, v.iv)
			}
			plain, record := unhex(t, v.plain), unhex(t, v.record)

			var d Direction
			if err := d.Init(suite, secret, v.seq); err != nil {
				t.Fatal(err)
			}
			// Init derived the key and IV once; a Cipher is built from them.
			if !bytes.Equal(d.key[:16], key) || !bytes.Equal(d.key[16:], make([]byte, maxKey-16)) || !bytes.Equal(d.iv[:], iv) {
				t.Fatalf("Direction key %x iv %x", d.key, d.iv)
			}
			var c Cipher
			got, err := Seal(&d, &c, nil, TypeApplicationData, plain[:7], plain[7:])
			if err != nil || !bytes.Equal(got, record) {
				t.Fatalf("Seal = %x, %v\nwant   %x", got, err, record)
			}
			if d.Seq() != v.seq+1 {
				t.Fatalf("seq after Seal = %d", d.Seq())
			}

			var r Direction
			_ = r.Init(suite, secret, v.seq)
			var rc Cipher
			typ, out, err := Open(&r, &rc, []byte("x"), record)
			if err != nil || typ != TypeApplicationData || !bytes.Equal(out, append([]byte("x"), plain...)) {
				t.Fatalf("Open = %d %x %v", typ, out, err)
			}
			// The same record at any other sequence number does not open.
			_ = r.Init(suite, secret, v.seq+1)
			if _, _, err := Open(&r, &rc, nil, record); err != AlertBadRecordMAC {
				t.Fatalf("Open at the wrong sequence number: %v", err)
			}
		})
	}
}

// TestKeyUpdateDerivation checks Update against HKDF-Expand-Label with
// "traffic upd" computed directly (RFC 8446 §7.2), for every suite.
func TestKeyUpdateDerivation(t *testing.T) {
	for _, s := range suites {
		secret := bytes.Repeat([]byte{0x5a}, s.hashLen)
		want, err := ExpandLabel(s.id, secret, "traffic upd", nil, s.hashLen)
		if err != nil {
			t.Fatal(err)
		}
		var d Direction
		if err := d.Init(s.id, secret, 7); err != nil {
			t.Fatal(err)
		}
		if err := d.Update(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.secret[:s.hashLen], want) || d.Seq() != 0 || d.Generation() != 1 {
			t.Fatalf("suite %x: after Update secret %x seq %d gen %d", s.id, d.secret[:s.hashLen], d.Seq(), d.Generation())
		}
		// The key and IV follow the new secret (RFC 8446 §7.3).
		key, _ := ExpandLabel(s.id, want, "key", nil, s.keyLen)
		iv, _ := ExpandLabel(s.id, want, "iv", nil, nonceLen)
		if !bytes.Equal(d.key[:s.keyLen], key) || !bytes.Equal(d.iv[:], iv) {
			t.Fatalf("suite %x: after Update key %x iv %x; want %x %x", s.id, d.key[:s.keyLen], d.iv, key, iv)
		}
	}
}
