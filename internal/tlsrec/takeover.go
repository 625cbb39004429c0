package tlsrec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"sync"
)

// KeyLog is a tls.Config.KeyLogWriter for one handshake that keeps the
// TLS 1.3 application traffic secrets (CLIENT_TRAFFIC_SECRET_0 and
// SERVER_TRAFFIC_SECRET_0) so that a Conn can take over from crypto/tls.
// Every line is also passed to Next when set (the application's own key
// log). It holds the very secrets crypto/tls keeps in memory for the
// connection; the caller hands them to Conn.Init and clears the KeyLog.
// Write decodes into arrays of its own: it allocates nothing.
type KeyLog struct {
	mu             sync.Mutex
	client, server [maxSecret]byte
	nc, ns         uint8 // secret lengths, 0 until logged
	Next           io.Writer
}

// Write takes one key log line ("LABEL <client random> <secret>\n", in
// hex, as crypto/tls writes them).
func (k *KeyLog) Write(line []byte) (int, error) {
	if k.Next != nil {
		if _, err := k.Next.Write(line); err != nil {
			return 0, err
		}
	}
	var dst *[maxSecret]byte
	var n *uint8
	var rest []byte
	switch {
	case bytes.HasPrefix(line, labelClientTraffic):
		dst, n, rest = &k.client, &k.nc, line[len(labelClientTraffic):]
	case bytes.HasPrefix(line, labelServerTraffic):
		dst, n, rest = &k.server, &k.ns, line[len(labelServerTraffic):]
	default:
		return len(line), nil // the handshake secrets
	}
	// rest: "<client random> <secret>" and the line's end.
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return len(line), nil
	}
	hx := bytes.TrimRight(rest[sp+1:], "\r\n")
	if len(hx)%2 != 0 || len(hx)/2 > maxSecret || len(hx) == 0 {
		return 0, errKeyLogLine
	}
	var s [maxSecret]byte
	if _, err := hex.Decode(s[:len(hx)/2], hx); err != nil {
		clear(s[:])
		return 0, err
	}
	k.mu.Lock()
	*dst = s
	*n = uint8(len(hx) / 2)
	k.mu.Unlock()
	clear(s[:])
	return len(line), nil
}

var (
	labelClientTraffic = []byte("CLIENT_TRAFFIC_SECRET_0 ")
	labelServerTraffic = []byte("SERVER_TRAFFIC_SECRET_0 ")
	errKeyLogLine      = errors.New("tlsrec: malformed key log line")
)

// Secrets returns copies of the client and server application traffic
// secrets (nil until crypto/tls logged them). The caller clears them.
func (k *KeyLog) Secrets() (client, server []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.nc > 0 {
		client = append([]byte(nil), k.client[:k.nc]...)
	}
	if k.ns > 0 {
		server = append([]byte(nil), k.server[:k.ns]...)
	}
	return client, server
}

// view returns k's secrets in place (nil until logged), for Init once
// the handshake is over and crypto/tls writes no more lines.
func (k *KeyLog) view() (client, server []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.nc > 0 {
		client = k.client[:k.nc]
	}
	if k.ns > 0 {
		server = k.server[:k.ns]
	}
	return client, server
}

// Clear zeroes and forgets the secrets.
func (k *KeyLog) Clear() {
	k.mu.Lock()
	clear(k.client[:])
	clear(k.server[:])
	k.nc, k.ns = 0, 0
	k.mu.Unlock()
}

// ErrNoSecrets is returned by Init when the key log holds no TLS 1.3
// application traffic secrets (the handshake was not TLS 1.3).
var ErrNoSecrets = errors.New("tlsrec: no TLS 1.3 application traffic secrets were logged")

// Init sets c up to continue a TLS 1.3 connection whose handshake
// crypto/tls completed as the server, with cipher suite id and the
// secrets from k. written is every byte the server's crypto/tls wrote
// during the handshake: the records among them that open under the
// server application key (NewSessionTicket messages) set Out's sequence
// number. The client's next record is its first under its application
// key (sequence 0): the caller must hand crypto/tls nothing past the
// client's Finished.
func (c *Conn) Init(id uint16, k *KeyLog, written []byte) error {
	var out Cipher
	err := c.InitCipher(id, k, written, &out)
	out.Reset()
	return err
}

// InitCipher is Init that also leaves in out the expanded cipher of Out
// when it built one to count crypto/tls's records (a caller that is about
// to write keeps it, see Cipher.Rebind; out is reset otherwise).
//
// The records protected under the server's application key are a suffix
// of those crypto/tls wrote (it never returns to a handshake key), and
// the first of them has sequence number 0: found by trying the protected
// records from the last one back at sequence 0, then counted. Usually the
// last record is the one NewSessionTicket: one trial.
func (c *Conn) InitCipher(id uint16, k *KeyLog, written []byte, out *Cipher) error {
	out.Reset()
	client, server := k.view()
	if client == nil || server == nil {
		return ErrNoSecrets
	}
	*c = Conn{}
	if err := c.In.Init(id, client, 0); err != nil {
		return err
	}
	if err := c.Out.Init(id, server, 0); err != nil {
		return err
	}
	// The starts of the protected records, at most a few: a flight has
	// EncryptedExtensions, Certificate, CertificateVerify, Finished and
	// the tickets.
	var starts [16]int
	var more []int
	n := 0
	for off := 0; len(written)-off >= HeaderLen; {
		r := RecordLen(written[off:])
		if r > len(written)-off {
			break
		}
		if written[off] == TypeApplicationData {
			if n < len(starts) {
				starts[n] = off
			} else {
				more = append(more, off)
			}
			n++
		}
		off += r
	}
	at := func(i int) []byte {
		o := 0
		if i < len(starts) {
			o = starts[i]
		} else {
			o = more[i-len(starts)]
		}
		return written[o : o+RecordLen(written[o:])]
	}
	for i := n - 1; i >= 0; i-- {
		if TrialOpen(&c.Out, out, at(i)) {
			c.Out.seq = uint64(n - i)
			return nil
		}
	}
	return nil
}
