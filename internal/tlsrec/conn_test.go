package tlsrec

import (
	"bytes"
	"crypto/tls"
	"errors"
	"testing"
)

// pair returns a sending Conn and a receiving Conn sharing keys: what
// "peer" seals, "c" opens.
func pair(t testing.TB, suite uint16) (peer, c *Conn) {
	s := suiteByID(suite)
	a := bytes.Repeat([]byte{1}, s.hashLen)
	b := bytes.Repeat([]byte{2}, s.hashLen)
	peer, c = &Conn{}, &Conn{}
	if err := peer.Out.Init(suite, a, 0); err != nil {
		t.Fatal(err)
	}
	_ = peer.In.Init(suite, b, 0)
	_ = c.In.Init(suite, a, 0)
	_ = c.Out.Init(suite, b, 0)
	return peer, c
}

func TestSuitesRoundTrip(t *testing.T) {
	for _, s := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256} {
		peer, c := pair(t, s)
		var pc, cc Cipher
		for _, n := range []int{0, 1, MaxPlaintext, MaxPlaintext + 1, 40000} {
			msg := bytes.Repeat([]byte{'m'}, n)
			wire, err := peer.Write(&pc, nil, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			for p := wire; len(p) > 0; {
				k := RecordLen(p)
				if k-HeaderLen > MaxCiphertext {
					t.Fatalf("record of %d bytes", k)
				}
				got, _, err = c.Read(&cc, p[:k], got)
				if err != nil {
					t.Fatalf("suite %x size %d: %v", s, n, err)
				}
				p = p[k:]
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("suite %x size %d: got %d bytes", s, n, len(got))
			}
		}
	}
}

// seal makes one record of inner plaintext (content, type, padding)
// under d, as a peer could send it.
func seal(t testing.TB, d *Direction, c *Cipher, inner []byte) []byte {
	t.Helper()
	if err := c.For(d); err != nil {
		t.Fatal(err)
	}
	hdr := []byte{TypeApplicationData, 3, 3, byte((len(inner) + tagLen) >> 8), byte(len(inner) + tagLen)}
	nonce := c.nonce(d, d.seq)
	d.seq++
	return c.aead.Seal(hdr, nonce, inner, hdr)
}

func TestReadTable(t *testing.T) {
	big := make([]byte, MaxPlaintext+1)
	for _, tc := range []struct {
		name    string
		inner   []byte // sealed by the peer; nil: use raw
		raw     func(rec []byte) []byte
		wantErr error
		wantEv  Event
		want    string
		pending bool
		gen     uint32
	}{
		{name: "data", inner: []byte("hi\x17"), want: "hi"},
		{name: "data with padding", inner: []byte("hi\x17\x00\x00\x00"), want: "hi"},
		{name: "empty data", inner: []byte("\x17"), want: ""},
		{name: "all padding", inner: []byte("\x00\x00\x00"), wantErr: AlertUnexpectedMessage},
		{name: "close_notify", inner: []byte("\x01\x00\x15"), wantEv: EventCloseNotify},
		{name: "user_canceled ignored", inner: []byte("\x01\x5a\x15")},
		{name: "fatal alert", inner: []byte("\x02\x28\x15"), wantErr: PeerAlert(40)},
		{name: "short alert", inner: []byte("\x01\x15"), wantErr: AlertDecodeError},
		{name: "key update", inner: []byte("\x18\x00\x00\x01\x00\x16"), gen: 1},
		{name: "key update requested", inner: []byte("\x18\x00\x00\x01\x01\x16"), gen: 1, pending: true},
		{name: "key update bad value", inner: []byte("\x18\x00\x00\x01\x02\x16"), wantErr: AlertIllegalParameter},
		{name: "key update bad length", inner: []byte("\x18\x00\x00\x02\x00\x00\x16"), wantErr: AlertDecodeError},
		{name: "key update not last", inner: []byte("\x18\x00\x00\x01\x00\x18\x00\x00\x01\x00\x16"), wantErr: AlertUnexpectedMessage},
		{name: "fragmented handshake", inner: []byte("\x18\x00\x00\x01\x16"), wantErr: AlertUnexpectedMessage},
		{name: "new session ticket from client", inner: []byte("\x04\x00\x00\x00\x16"), wantErr: AlertUnexpectedMessage},
		{name: "client hello (renegotiation)", inner: []byte("\x01\x00\x00\x00\x16"), wantErr: AlertUnexpectedMessage},
		{name: "empty handshake", inner: []byte("\x16"), wantErr: AlertUnexpectedMessage},
		{name: "change cipher spec inner", inner: []byte("\x01\x14"), wantErr: AlertUnexpectedMessage},
		{name: "unknown type", inner: []byte("x\x63"), wantErr: AlertUnexpectedMessage},
		{name: "plaintext too long", inner: append(big, TypeApplicationData), wantErr: AlertRecordOverflow},
		{name: "bad MAC", inner: []byte("hi\x17"), raw: func(r []byte) []byte { r[len(r)-1] ^= 1; return r }, wantErr: AlertBadRecordMAC},
		{name: "plaintext alert", raw: func([]byte) []byte { return []byte{21, 3, 3, 0, 2, 2, 40} }, wantErr: AlertUnexpectedMessage},
		{name: "change cipher spec", raw: func([]byte) []byte { return []byte{20, 3, 3, 0, 1, 1} }, wantErr: AlertUnexpectedMessage},
		{name: "too short for a tag", raw: func([]byte) []byte { return []byte{23, 3, 3, 0, 3, 1, 2, 3} }, wantErr: AlertBadRecordMAC},
		{name: "oversized record", raw: func([]byte) []byte {
			r := make([]byte, HeaderLen+MaxCiphertext+1)
			n := MaxCiphertext + 1
			r[0], r[1], r[2], r[3], r[4] = 23, 3, 3, byte(n>>8), byte(n)
			return r
		}, wantErr: AlertRecordOverflow},
		{name: "length mismatch", raw: func(r []byte) []byte { return r[:len(r)-1] }, inner: []byte("hi\x17"), wantErr: AlertDecodeError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer, c := pair(t, tls.TLS_AES_128_GCM_SHA256)
			var pc, cc Cipher
			var rec []byte
			if tc.inner != nil {
				rec = seal(t, &peer.Out, &pc, tc.inner)
			}
			if tc.raw != nil {
				rec = tc.raw(rec)
			}
			got, ev, err := c.Read(&cc, rec, nil)
			if !errors.Is(err, tc.wantErr) || ev != tc.wantEv {
				t.Fatalf("Read = %v, %v; want %v, %v", ev, err, tc.wantEv, tc.wantErr)
			}
			if err == nil && string(got) != tc.want {
				t.Fatalf("data %q, want %q", got, tc.want)
			}
			if c.UpdatePending() != tc.pending || c.In.Generation() != tc.gen {
				t.Fatalf("pending %v gen %d", c.UpdatePending(), c.In.Generation())
			}
			if tc.gen == 1 {
				// The peer's next record is under its next key.
				_ = peer.Out.Update()
				next := seal(t, &peer.Out, &pc, []byte("next\x17"))
				if got, _, err := c.Read(&cc, next, nil); err != nil || string(got) != "next" {
					t.Fatalf("after KeyUpdate: %q %v", got, err)
				}
			}
			if tc.pending {
				var oc Cipher
				wire, err := c.Write(&oc, nil, []byte("reply"), nil)
				if err != nil || c.UpdatePending() || c.Out.Generation() != 1 {
					t.Fatalf("answer to KeyUpdate: %v pending %v gen %d", err, c.UpdatePending(), c.Out.Generation())
				}
				// The peer sees our KeyUpdate, then data under the new key.
				var pin Cipher
				k := RecordLen(wire)
				if _, _, err := peer.Read(&pin, wire[:k], nil); err != nil || peer.In.Generation() != 1 {
					t.Fatalf("peer reading our KeyUpdate: %v", err)
				}
				if got, _, err := peer.Read(&pin, wire[k:], nil); err != nil || string(got) != "reply" {
					t.Fatalf("peer reading after our KeyUpdate: %q %v", got, err)
				}
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	_, c := pair(t, tls.TLS_AES_128_GCM_SHA256)
	var oc Cipher
	wire, err := c.WriteAlert(&oc, nil, AlertCloseNotify)
	if err != nil || len(wire) == 0 || !c.CloseSent() {
		t.Fatal("close_notify not written")
	}
	if more, _ := c.WriteAlert(&oc, nil, AlertInternalError); len(more) != 0 {
		t.Fatal("second alert written")
	}
	if _, err := c.Write(&oc, nil, []byte("x"), nil); err == nil {
		t.Fatal("write after close_notify accepted")
	}
}

func TestSealAllocs(t *testing.T) {
	peer, c := pair(t, tls.TLS_AES_128_GCM_SHA256)
	var pc, cc Cipher
	buf := make([]byte, 0, 4096)
	plain := make([]byte, 0, 4096)
	msg := []byte("hello, world")
	n := testing.AllocsPerRun(100, func() {
		wire, _ := peer.Write(&pc, buf[:0], msg, nil)
		plain, _, _ = c.Read(&cc, wire, plain[:0])
	})
	if n != 0 {
		t.Fatalf("%v allocations per record sealed and opened with warm Ciphers", n)
	}
}
