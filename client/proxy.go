package client

import (
	"encoding/base64"
	"net"
	"net/url"
)

// tunnel asks the HTTP proxy on nc for a tunnel to hostport (CONNECT,
// RFC 9110 §9.3.6). A proxy that refuses gives a *HandshakeError with
// Proxy set (407 when it wants credentials).
func tunnel(nc net.Conn, proxy *url.URL, hostport string) error {
	req := "CONNECT " + hostport + " HTTP/1.1\r\nHost: " + hostport + "\r\n"
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)) + "\r\n"
	}
	req += "\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		return err
	}
	head, rest, err := readHead(nc, DefaultMaxResponseHead)
	if err != nil {
		return err
	}
	r, err := parseResponse(head)
	if err != nil {
		return err
	}
	if r.status < 200 || r.status > 299 {
		return errorResponse(nc, &r, rest, true)
	}
	if len(rest) > 0 {
		// The server speaks only after our request: bytes here would be
		// the proxy's, and we cannot tell them from the server's.
		return &HandshakeError{Status: r.status, Proxy: true, Reason: "proxy sent bytes after its 2xx"}
	}
	return nil
}
