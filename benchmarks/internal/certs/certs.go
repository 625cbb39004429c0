// Package certs makes the TLS benchmark's test PKI at the start of a run: a
// CA (ECDSA P-256) and a server certificate it signs for 127.0.0.1 and
// localhost, with an ECDSA P-256 or an RSA-2048 key, written as PEM files.
// Everything comes from the standard library (crypto/x509); nothing here is
// meant for anything but loopback benchmarks.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Key types of the server certificate.
const (
	ECDSA = "ecdsa" // P-256
	RSA   = "rsa"   // 2048 bits
)

// Files are the PEM files of one generated PKI.
type Files struct {
	CA   string // the CA certificate, for clients' RootCAs
	Cert string // the server certificate
	Key  string // the server's private key (PKCS #8)
}

// Generate writes a fresh CA and a server certificate with a key of kind
// (ECDSA or RSA) under dir, named by kind.
func Generate(dir, kind string) (Files, error) {
	var key crypto.Signer
	var err error
	switch kind {
	case ECDSA:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return Files{}, fmt.Errorf("certs: unknown key type %q (want %s or %s)", kind, ECDSA, RSA)
	}
	if err != nil {
		return Files{}, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Files{}, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "switchboard benchmark CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		return Files{}, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return Files{}, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, key.Public(), caKey)
	if err != nil {
		return Files{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Files{}, err
	}
	f := Files{
		CA:   filepath.Join(dir, "ca-"+kind+".pem"),
		Cert: filepath.Join(dir, "cert-"+kind+".pem"),
		Key:  filepath.Join(dir, "key-"+kind+".pem"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, err
	}
	for _, w := range []struct {
		path, typ string
		der       []byte
	}{{f.CA, "CERTIFICATE", caDER}, {f.Cert, "CERTIFICATE", leafDER}, {f.Key, "PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(w.path, pem.EncodeToMemory(&pem.Block{Type: w.typ, Bytes: w.der}), 0o600); err != nil {
			return Files{}, err
		}
	}
	return f, nil
}
