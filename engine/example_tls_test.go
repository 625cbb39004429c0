package engine_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// wss:// on the event loops: Config.TLS takes a standard tls.Config. Here
// ws:// stays on Addr and wss:// is served on TLSAddr; the upgrade hook
// sees the TLS connection state.
func ExampleConfig_tls() {
	cert, roots := selfSigned("localhost") // in production: tls.LoadX509KeyPair(certFile, keyFile)
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	cfg.TLSAddr = "127.0.0.1:0" // leave empty to serve TLS only, on Addr
	cfg.Upgrade = func(r *engine.UpgradeRequest, _ *engine.UpgradeResponse) error {
		if cs := r.TLS(); cs != nil {
			fmt.Println("server name:", cs.ServerName, "TLS 1.3:", cs.Version == tls.VersionTLS13)
		}
		return nil
	}
	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()

	// The client (package client) speaks wss:// on event loops too.
	got := make(chan string, 1)
	d := &client.Dialer{TLSConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
	c, err := d.Dial(context.Background(), "wss://"+srv.TLSAddr()+"/", client.Handlers{
		Message: func(c *client.Conn, typ client.MessageType, data []byte) { got <- string(data) },
	})
	if err != nil {
		panic(err)
	}
	defer c.Close(codec.CloseNormal, "")
	_ = c.WriteText([]byte("hello over wss"))
	fmt.Println(<-got)
	// Output:
	// server name: localhost TLS 1.3: true
	// hello over wss
}

// selfSigned makes a certificate for host and a pool that trusts it.
func selfSigned(host string) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}
