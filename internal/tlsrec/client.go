package tlsrec

// The client's side of the record layer. A Conn set up by InitClient
// protects the client's records (Out, CLIENT_TRAFFIC_SECRET_0) and opens
// the server's (In, SERVER_TRAFFIC_SECRET_0); besides KeyUpdate it accepts
// the NewSessionTicket messages a server sends after the handshake and
// ignores them (RFC 8446 §4.6.1: a client may; the resumption secret they
// need stays inside crypto/tls). Each ticket must be whole within one
// record, as every server we know sends them; one that spans records is
// an unexpected_message.

// InitClient sets c up to continue a TLS 1.3 connection whose handshake
// crypto/tls completed as the client, with cipher suite id and the
// secrets from k. Both directions start at sequence number 0: the caller
// must have let crypto/tls read nothing past the server's Finished (feed
// it one record at a time) and write nothing after the client's Finished.
func (c *Conn) InitClient(id uint16, k *KeyLog) error {
	client, server := k.view()
	if client == nil || server == nil {
		return ErrNoSecrets
	}
	*c = Conn{client: true}
	if err := c.In.Init(id, server, 0); err != nil {
		return err
	}
	return c.Out.Init(id, client, 0)
}
