package client

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"testing"

	"github.com/switchboard-ws/switchboard/internal/tlsrec"
)

// fuzzConn is a net.Conn that reads a byte slice and discards writes.
type fuzzConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *fuzzConn) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *fuzzConn) Write(b []byte) (int, error) { return len(b), nil }

// fuzzKeys returns a key log holding fixed TLS 1.3 traffic secrets.
func fuzzKeys() *tlsrec.KeyLog {
	k := &tlsrec.KeyLog{}
	for _, label := range []string{"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
		fmt.Fprintf(k, "%s %s %s\n", label, hex.EncodeToString(make([]byte, 32)), hex.EncodeToString(bytes.Repeat([]byte{label[0]}, 32)))
	}
	return k
}

// FuzzRecordStream feeds the dial-time record layer (the HTTP upgrade
// over TLS 1.3) whatever a server may send after its Finished: it never
// panics, and the head it returns stays within the limit.
func FuzzRecordStream(f *testing.F) {
	var srv tlsrec.Conn
	if err := srv.Init(tls.TLS_AES_128_GCM_SHA256, fuzzKeys(), nil); err != nil {
		f.Fatal(err)
	}
	var c tlsrec.Cipher
	head := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi")
	tkt := []byte{4, 0, 0, 18, 0, 0, 0x1c, 0x20, 1, 2, 3, 4, 1, 9, 0, 4, 't', 'k', 't', '!', 0, 0}
	var seed []byte
	s := srv
	seed, _ = tlsrec.Seal(&s.Out, &c, seed, tlsrec.TypeHandshake, tkt, nil)
	seed, _ = s.WriteKeyUpdate(&c, seed, true)
	seed, _ = s.Write(&c, seed, head[:20], nil)
	seed, _ = s.Write(&c, seed, head[20:], nil)
	f.Add(seed)
	s = srv
	one, _ := s.Write(&c, nil, head, nil)
	f.Add(one)
	f.Add(append(one[:len(one):len(one)], 23, 3, 3, 0xff, 0xff))
	f.Add([]byte{21, 3, 3, 0, 2, 2, 40})
	f.Fuzz(func(t *testing.T, data []byte) {
		sec := &secure{}
		if err := sec.rec.InitClient(tls.TLS_AES_128_GCM_SHA256, fuzzKeys()); err != nil {
			t.Fatal(err)
		}
		fc := &fuzzConn{r: bytes.NewReader(data)}
		rs := &recStream{nc: fc, src: fc, s: sec}
		h, _, err := readHead(rs, DefaultMaxResponseHead)
		if err == nil && len(h) > DefaultMaxResponseHead {
			t.Fatalf("head of %d bytes", len(h))
		}
		if len(rs.rec) > tlsrec.MaxRecord {
			t.Fatalf("record buffer of %d bytes", len(rs.rec))
		}
	})
}

// FuzzRecordReader: what crypto/tls reads through recordReader is the
// stream unchanged, and no Read crosses the end of a record. With a
// read-ahead buffer (ahead > 0) every byte taken from the socket is
// handed out, read ahead, or in the header being handed out, and once
// exact is set (after exactAt bytes) nothing more is read ahead.
func FuzzRecordReader(f *testing.F) {
	f.Add([]byte{22, 3, 3, 0, 3, 1, 2, 3, 23, 3, 3, 0, 1, 9}, uint8(7), uint8(0), uint16(0))
	f.Add([]byte{22, 3, 3, 0, 0, 20, 3, 3}, uint8(1), uint8(0), uint16(0))
	f.Add([]byte{22, 3, 3, 0, 3, 1, 2, 3, 23, 3, 3, 0, 1, 9, 23, 3, 3, 0, 2, 7, 7}, uint8(3), uint8(16), uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, size, ahead uint8, exactAt uint16) {
		src := bytes.NewReader(data)
		r := &recordReader{r: src}
		if ahead > 0 {
			r.ahead = make([]byte, int(ahead)%40+1)
		}
		buf := make([]byte, int(size)%64+1)
		var got []byte
		next := 0 // offset of the next record boundary
		for {
			if len(got) >= int(exactAt) {
				r.exact = true
			}
			before := r.buffered()
			n, err := r.Read(buf)
			if r.exact && r.buffered() > before {
				t.Fatalf("read ahead after exact: %d buffered, %d before", r.buffered(), before)
			}
			taken := len(data) - src.Len()
			hdr := 0
			if r.left > 0 && r.hdrN < tlsrec.HeaderLen {
				hdr = tlsrec.HeaderLen - r.hdrN
			}
			if err == nil && taken != len(got)+n+r.buffered()+hdr { // (a header cut by the end is dropped)
				t.Fatalf("%d bytes taken from the socket, %d handed out, %d read ahead, %d of a header", taken, len(got)+n, r.buffered(), hdr)
			}
			if len(got) == next && len(data)-next >= tlsrec.HeaderLen {
				next += tlsrec.RecordLen(data[next:])
			}
			if n > 0 && len(got) < next && len(got)+n > next {
				t.Fatalf("a read of %d bytes at %d crosses the record end at %d", n, len(got), next)
			}
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if !bytes.Equal(got, data[:len(got)]) {
			t.Fatal("the stream changed")
		}
	})
}
