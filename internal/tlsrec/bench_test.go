package tlsrec

import (
	"bytes"
	"crypto/tls"
	"net"
	"testing"

	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
)

// BenchmarkSeal seals one 64-byte record per op with the Cipher kept
// (a hit in the engine's per-loop cache) and with the Cipher rebuilt
// from the Direction each time (a miss), for every suite.
func BenchmarkSeal(b *testing.B) {
	for _, s := range suites {
		for _, miss := range []bool{false, true} {
			name := "hit"
			if miss {
				name = "miss"
			}
			b.Run(suiteName(s.id)+"/"+name, func(b *testing.B) {
				var d Direction
				if err := d.Init(s.id, bytes.Repeat([]byte{7}, s.hashLen), 0); err != nil {
					b.Fatal(err)
				}
				var c Cipher
				msg := make([]byte, 64)
				dst := make([]byte, 0, 256)
				b.ReportAllocs()
				for b.Loop() {
					if miss {
						c.Reset()
					}
					var err error
					if dst, err = Seal(&d, &c, dst[:0], TypeApplicationData, msg, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func suiteName(id uint16) string {
	switch id {
	case 0x1301:
		return "AES128GCM"
	case 0x1302:
		return "AES256GCM"
	default:
		return "CHACHA20"
	}
}

// captured is one real TLS 1.3 server handshake's key log lines and the
// bytes the server wrote, for BenchmarkTakeover.
type captured struct {
	suite   uint16
	lines   [][]byte
	written []byte
}

type lineLog struct{ lines [][]byte }

func (l *lineLog) Write(p []byte) (int, error) {
	l.lines = append(l.lines, append([]byte(nil), p...))
	return len(p), nil
}

func captureHandshake(b *testing.B) captured {
	cert, err := tlstest.New()
	if err != nil {
		b.Fatal(err)
	}
	cs, ss := net.Pipe()
	rc := &recorder{Conn: ss}
	kl := &lineLog{}
	cfg := cert.ServerConfig()
	cfg.KeyLogWriter = kl
	srv := tls.Server(rc, cfg)
	ccfg := cert.ClientConfig("localhost")
	ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	cli := tls.Client(cs, ccfg)
	errc := make(chan error, 1)
	go func() { errc <- cli.Handshake() }()
	if err := srv.Handshake(); err != nil {
		b.Fatal(err)
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	cs.Close()
	ss.Close()
	return captured{srv.ConnectionState().CipherSuite, kl.lines, rc.written.Bytes()}
}

// BenchmarkTakeover is the record layer's share of one handshake: the
// key log lines crypto/tls writes, then Init and Clear.
func BenchmarkTakeover(b *testing.B) {
	h := captureHandshake(b)
	b.ReportAllocs()
	for b.Loop() {
		var k KeyLog
		for _, l := range h.lines {
			if _, err := k.Write(l); err != nil {
				b.Fatal(err)
			}
		}
		var c Conn
		if err := c.Init(h.suite, &k, h.written); err != nil {
			b.Fatal(err)
		}
		k.Clear()
	}
}
