package tlsflags

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
)

// Options are the TLS flags' values.
type Options struct {
	CertFile   string // -tls-cert
	KeyFile    string // -tls-key
	SelfSigned bool   // -tls-self-signed
	Addr       string // -tls-addr
}

// Flags registers the TLS flags on the default flag set and returns where
// their values land; call Load after flag.Parse.
func Flags() *Options {
	return FlagsOn(flag.CommandLine)
}

// FlagsOn registers the TLS flags on fs.
func FlagsOn(fs *flag.FlagSet) *Options {
	o := &Options{}
	fs.StringVar(&o.CertFile, "tls-cert", "", "serve wss:// with this PEM certificate (chain) file; needs -tls-key")
	fs.StringVar(&o.KeyFile, "tls-key", "", "PEM private key file of -tls-cert (re-read with the certificate on SIGHUP)")
	fs.BoolVar(&o.SelfSigned, "tls-self-signed", false,
		"serve wss:// with an in-memory self-signed ECDSA P-256 certificate for localhost, 127.0.0.1 and ::1 (for trying it out; prints its SPKI pin)")
	fs.StringVar(&o.Addr, "tls-addr", "", "serve TLS on this address and plain ws:// on -addr (empty: TLS, when on, takes -addr)")
	return o
}

// TLS is what Load made of the flags.
type TLS struct {
	// Config is the server's TLS configuration: TLS 1.2 and 1.3, the
	// certificate served through GetCertificate. Nil when TLS is off.
	Config *tls.Config
	// Addr is -tls-addr: TLS there, plain on the -addr. Empty: TLS only,
	// on -addr.
	Addr string
	// Pin is the base64 SHA-256 of the served leaf certificate's
	// SubjectPublicKeyInfo, as Chromium's --ignore-certificate-errors-spki-list
	// and HTTP public key pinning write it.
	Pin string
	// SelfSigned tells that the certificate was made in memory.
	SelfSigned bool
	// Names are the leaf certificate's DNS names and IP addresses.
	Names []string

	pair *keyPair // nil for a self-signed certificate
}

// Enabled reports whether TLS is on.
func (t *TLS) Enabled() bool { return t != nil && t.Config != nil }

// Load checks the flags and builds the TLS configuration (nil Config when
// no TLS flag is set).
func (o *Options) Load() (*TLS, error) {
	files := o.CertFile != "" || o.KeyFile != ""
	switch {
	case files && o.SelfSigned:
		return nil, errors.New("-tls-self-signed and -tls-cert/-tls-key exclude each other")
	case files && (o.CertFile == "" || o.KeyFile == ""):
		return nil, errors.New("-tls-cert and -tls-key go together")
	case !files && !o.SelfSigned:
		if o.Addr != "" {
			return nil, errors.New("-tls-addr needs -tls-cert and -tls-key, or -tls-self-signed")
		}
		return &TLS{}, nil
	}
	t := &TLS{Addr: o.Addr}
	var cert *tls.Certificate
	if o.SelfSigned {
		c, err := SelfSigned()
		if err != nil {
			return nil, err
		}
		cert, t.SelfSigned = &c, true
	} else {
		t.pair = &keyPair{certFile: o.CertFile, keyFile: o.KeyFile}
		if err := t.pair.load(); err != nil {
			return nil, err
		}
		cert = t.pair.cur.Load()
	}
	t.describe(cert)
	t.Config = &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if t.pair != nil {
				return t.pair.cur.Load(), nil
			}
			return cert, nil
		},
	}
	return t, nil
}

// Reload re-reads -tls-cert and -tls-key; the next handshake serves the new
// pair. On an error the old pair stays. A self-signed certificate is kept.
func (t *TLS) Reload() error {
	if t == nil || t.pair == nil {
		return nil
	}
	if err := t.pair.load(); err != nil {
		return err
	}
	t.describe(t.pair.cur.Load())
	return nil
}

func (t *TLS) describe(c *tls.Certificate) {
	t.Pin, t.Names = Pin(c.Leaf), leafNames(c.Leaf)
}

// Print writes what the examples print at start: the certificate, its pin
// and how to make Chromium accept a self-signed one. Nothing when TLS is off.
func (t *TLS) Print(w io.Writer) {
	if !t.Enabled() {
		return
	}
	kind := "certificate"
	if t.SelfSigned {
		kind = "self-signed certificate (trusted by no client)"
	}
	fmt.Fprintf(w, "tls: %s for %s; SPKI pin sha256/%s\n", kind, strings.Join(t.Names, ", "), t.Pin)
	if t.SelfSigned {
		fmt.Fprintf(w, "tls: chromium --user-data-dir=$(mktemp -d) --ignore-certificate-errors-spki-list=%s\n", t.Pin)
	}
}

// keyPair is a certificate and key read from files, swapped atomically on
// reload.
type keyPair struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

func (p *keyPair) load() error {
	c, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		return fmt.Errorf("-tls-cert %s -tls-key %s: %w", p.certFile, p.keyFile, err)
	}
	if c.Leaf == nil { // filled by LoadX509KeyPair since Go 1.23
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return fmt.Errorf("-tls-cert %s: %w", p.certFile, err)
		}
	}
	p.cur.Store(&c)
	return nil
}

func leafNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = append(names, c.Subject.CommonName)
	}
	return names
}
