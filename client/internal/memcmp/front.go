package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"time"
)

// serveTLS terminates TLS on addr and forwards to backend: the engine's
// own TLS layer is separate work, and this keeps the wss:// measurement
// about the client. Goroutines per connection here are the front's cost,
// not the client's (another process).
func serveTLS(addr, backend string, maxVersion uint16) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "memcmp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MaxVersion:   maxVersion,
	})
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			b, err := net.Dial("tcp", backend)
			if err != nil {
				_ = c.Close()
				return
			}
			go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
			_, _ = io.Copy(c, b)
			_ = c.Close()
		}()
	}
}
