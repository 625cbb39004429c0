package engine

import (
	"crypto/tls"
	"unsafe"
)

// tlsConn is the TLS state of a connection served over TLS. It is
// allocated together with the Conn (tlsBox) and found from it by
// Conn.tlsState.
type tlsConn struct {
	cs *tls.ConnectionState // from the handshake's end until the upgrade
}

// tlsBox lays a TLS connection's Conn and tlsConn out in one allocation.
type tlsBox struct {
	c Conn
	t tlsConn
}

// tlsState returns c's TLS state, or nil for a plain connection.
func (c *Conn) tlsState() *tlsConn {
	if c.flags&flagTLS == 0 {
		return nil
	}
	return &(*tlsBox)(unsafe.Pointer(c)).t
}
