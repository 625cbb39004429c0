// Package tlsflag is the -tls-cert and -tls-key flags of the benchmark's
// server programs: with both set, a server listens with crypto/tls (or, for
// nbio, its own non-blocking fork of it) using that certificate and the
// standard library's defaults otherwise (TLS 1.2 and 1.3, the default key
// exchanges, post-quantum X25519MLKEM768 included, session tickets on).
package tlsflag

import (
	"crypto/tls"
	"flag"
	"net"
)

// Flags registers -tls-cert and -tls-key on the default flag set.
type Flags struct {
	Cert, Key *string
}

// Register registers the flags.
func Register() Flags {
	return Flags{
		Cert: flag.String("tls-cert", "", "PEM certificate: serve TLS (wss://) with it and -tls-key"),
		Key:  flag.String("tls-key", "", "PEM private key of -tls-cert"),
	}
}

// On reports whether TLS was asked for.
func (f Flags) On() bool { return *f.Cert != "" }

// Config returns the server's crypto/tls configuration; nil without -tls-cert.
func (f Flags) Config() (*tls.Config, error) {
	if !f.On() {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(*f.Cert, *f.Key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}}, nil
}

// Listen listens on addr, with TLS when asked for.
func (f Flags) Listen(addr string) (net.Listener, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil || cfg == nil {
		return ln, err
	}
	return tls.NewListener(ln, cfg), nil
}
