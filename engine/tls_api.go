package engine

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
)

// TLSStats counts the TLS layer's work (all zero without Config.TLS).
type TLSStats struct {
	// HandshakesInProgress is the TLS handshakes running now (at most
	// Config.MaxTLSHandshakes); HandshakesQueued those among them waiting
	// for a worker (Config.TLSHandshakeWorkers).
	HandshakesInProgress int64
	HandshakesQueued     int64
	// HandshakesCompleted and HandshakesFailed count finished handshakes
	// (failed: crypto/tls refused them, the client left, or the handshake
	// timeout passed).
	HandshakesCompleted uint64
	HandshakesFailed    uint64
	// TLS13 and TLS12 count completed handshakes by version.
	TLS13, TLS12 uint64
	// BytesIn and BytesOut are the TLS bytes (records, headers included)
	// received and sent after the handshake.
	BytesIn, BytesOut uint64
	// KeyUpdates counts TLS 1.3 KeyUpdate messages received.
	KeyUpdates uint64
	// Alerts counts connections ended by a TLS alert or a record-layer
	// error (bad record MAC, oversized record, unexpected message).
	Alerts uint64
}

// TLS returns the TLS connection state of the upgrade request (SNI in
// ServerName, Version, CipherSuite, NegotiatedProtocol, PeerCertificates),
// or nil over plain ws:// and on the net/http path.
func (r *UpgradeRequest) TLS() *tls.ConnectionState {
	if r.conn == nil {
		return nil
	}
	if t := r.conn.tlsState(); t != nil {
		return t.cs
	}
	return nil
}

// TLSAddr waits until the server listens and returns the address serving
// wss:// (port 0 resolved): Addr when Config.TLSAddr is empty and
// Config.TLS is set, "" without TLS or when Run failed.
func (s *Server) TLSAddr() string {
	if s.cfg.TLS == nil {
		return ""
	}
	if s.cfg.TLSAddr == "" {
		return s.Addr()
	}
	if s.Addr() == "" {
		return ""
	}
	return s.tlsAddr
}

// normalizeTLS validates and fills the TLS fields.
func (c *Config) normalizeTLS(errs []error) []error {
	if c.TLSHandshakeWorkers < 0 || c.MaxTLSHandshakes < 0 {
		errs = append(errs, errors.New("TLS handshake limits must not be negative"))
	}
	if c.TLSHandshakeWorkers == 0 {
		c.TLSHandshakeWorkers = 4 * runtime.GOMAXPROCS(0)
	}
	if c.MaxTLSHandshakes == 0 {
		c.MaxTLSHandshakes = DefaultMaxTLSHandshakes
	}
	if c.TLSAddr != "" {
		if c.TLS == nil {
			errs = append(errs, errors.New("TLSAddr set without TLS"))
		} else if _, _, err := net.SplitHostPort(c.TLSAddr); err != nil {
			errs = append(errs, fmt.Errorf("TLSAddr %q: %w", c.TLSAddr, err))
		}
	}
	if c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil {
		errs = append(errs, errors.New("TLS has no certificate (Certificates, GetCertificate or GetConfigForClient)"))
	}
	if c.TLS != nil && c.TLS.MaxVersion != 0 && c.TLS.MaxVersion < tls.VersionTLS12 {
		errs = append(errs, errors.New("TLS.MaxVersion below TLS 1.2"))
	}
	return errs
}
