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
type KeyLog struct {
	mu             sync.Mutex
	client, server []byte
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
	var dst *[]byte
	switch {
	case bytes.HasPrefix(line, labelClientTraffic):
		dst = &k.client
	case bytes.HasPrefix(line, labelServerTraffic):
		dst = &k.server
	default:
		return len(line), nil // the handshake secrets
	}
	f := bytes.Fields(line)
	if len(f) != 3 {
		return len(line), nil
	}
	s := make([]byte, hex.DecodedLen(len(f[2])))
	if _, err := hex.Decode(s, f[2]); err != nil {
		return 0, err
	}
	k.mu.Lock()
	*dst = s
	k.mu.Unlock()
	return len(line), nil
}

var (
	labelClientTraffic = []byte("CLIENT_TRAFFIC_SECRET_0 ")
	labelServerTraffic = []byte("SERVER_TRAFFIC_SECRET_0 ")
)

// Secrets returns the client and server application traffic secrets
// (nil until crypto/tls logged them).
func (k *KeyLog) Secrets() (client, server []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.client, k.server
}

// Clear zeroes and forgets the secrets.
func (k *KeyLog) Clear() {
	k.mu.Lock()
	clear(k.client)
	clear(k.server)
	k.client, k.server = nil, nil
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
	client, server := k.Secrets()
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
	var ci Cipher
	for p := written; len(p) >= HeaderLen; {
		n := RecordLen(p)
		if n > len(p) {
			break
		}
		if p[0] == TypeApplicationData && TrialOpen(&c.Out, &ci, p[:n]) {
			c.Out.seq++
		}
		p = p[n:]
	}
	return nil
}
