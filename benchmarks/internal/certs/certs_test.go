package certs

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestGenerate(t *testing.T) {
	for _, kind := range []string{ECDSA, RSA} {
		f, err := Generate(t.TempDir(), kind)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		caPEM, err := os.ReadFile(f.CA)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(caPEM) {
			t.Fatal("CA not parsed")
		}
		for _, name := range []string{"127.0.0.1", "localhost"} {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
				t.Errorf("%s: %s: %v", kind, name, err)
			}
		}
		want := map[string]x509.PublicKeyAlgorithm{ECDSA: x509.ECDSA, RSA: x509.RSA}[kind]
		if leaf.PublicKeyAlgorithm != want {
			t.Errorf("%s: key %v", kind, leaf.PublicKeyAlgorithm)
		}
	}
	if _, err := Generate(t.TempDir(), "dsa"); err == nil {
		t.Error("unknown key type accepted")
	}
}
