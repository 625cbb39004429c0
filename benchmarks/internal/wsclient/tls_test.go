package wsclient

import (
	"bufio"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestDialTLS opens wss:// connections to a net/http TLS server that
// answers the upgrade by hand, checking the certificate, and resumes the
// session of the first one in the second.
func TestDialTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		nc, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer nc.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			base64.StdEncoding.EncodeToString(h[:]) + "\r\n\r\n")
		_ = rw.Flush()
		_, _ = io.Copy(io.Discard, bufio.NewReader(nc))
	}))
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	addr := srv.Listener.Addr().String()
	host, _, _ := net.SplitHostPort(addr)
	cfg := &tls.Config{RootCAs: roots, ServerName: host, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	var resumed bool
	for i := range 2 {
		var cnt Counters
		c, err := (&Dialer{Timeout: 5 * time.Second, TLS: cfg, Count: &cnt}).Dial(addr, "/")
		if err != nil {
			t.Fatal(err)
		}
		st := c.TLS()
		if st == nil || !st.HandshakeComplete || cnt.Rx.Load() == 0 {
			t.Fatalf("connection %d: %+v", i, st)
		}
		resumed = st.DidResume
		c.Close()
	}
	if !resumed {
		t.Error("second connection did not resume the first's session")
	}
	// an unknown CA fails the dial
	if _, err := (&Dialer{Timeout: 5 * time.Second, TLS: &tls.Config{ServerName: host}}).Dial(addr, "/"); err == nil {
		t.Error("dial with an unknown CA succeeded")
	}
}
