package wstest

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultTimeout bounds Dial+handshake, each write and each read whose
	// limit is given as 0.
	DefaultTimeout = 5 * time.Second

	// MaxHeadSize bounds an HTTP response head read by Dial or
	// ReadHTTPResponse.
	MaxHeadSize = 64 << 10

	// MaxBodySize bounds an HTTP response body read by Dial or
	// ReadHTTPResponse.
	MaxBodySize = 16 << 20

	acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

// DialOptions tune Dial and DialRaw. A nil *DialOptions means all defaults.
type DialOptions struct {
	// Path is the request target; default "/".
	Path string
	// Header holds extra request headers (Origin, Cookie,
	// Sec-WebSocket-Protocol...). A key matching one of the headers Dial
	// writes itself (Host, Upgrade, Connection, Sec-WebSocket-Key,
	// Sec-WebSocket-Version; matched case-insensitively) replaces it, and an
	// empty value list leaves it out. Values are written as given, unchecked.
	Header http.Header
	// Timeout bounds dial plus handshake; default DefaultTimeout.
	Timeout time.Duration
	// LocalAddr is an optional source address to bind before connecting:
	// an IP ("127.0.0.2") or an IP and port ("127.0.0.2:0").
	LocalAddr string
	// TLS, when set, runs a TLS handshake (crypto/tls client) right after
	// connecting: the client then speaks wss://. Client.Conn is the
	// *tls.Conn; CloseWrite sends close_notify.
	TLS *tls.Config
}

// HandshakeError is returned by Dial when the server answers the upgrade
// request with a status other than 101.
type HandshakeError struct {
	Status int
	Header http.Header
	Body   string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("wstest: handshake rejected with status %d: %q", e.Status, e.Body)
}

// Client is one raw connection to a WebSocket server. Writes are serialized
// by a lock; reads must come from one goroutine at a time.
type Client struct {
	// Conn is the underlying TCP connection.
	Conn net.Conn
	// Response is the handshake response when Dial was used; its Body is
	// empty.
	Response *http.Response
	// ResponseHead holds the exact bytes of the handshake response head, the
	// final CRLF CRLF included, when Dial was used.
	ResponseHead []byte
	// Key is the Sec-WebSocket-Key that Dial sent.
	Key string
	// WriteTimeout bounds each write; set by Dial and DialRaw to
	// DefaultTimeout. Zero or less means no limit.
	WriteTimeout time.Duration

	br        *bufio.Reader
	wmu       sync.Mutex
	closeSent atomic.Bool
}

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// DialRaw connects to addr ("127.0.0.1:port") without any handshake.
func DialRaw(addr string, opts *DialOptions) (*Client, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	d := net.Dialer{Timeout: cmp.Or(o.Timeout, DefaultTimeout)}
	if o.LocalAddr != "" {
		la, err := resolveLocal(o.LocalAddr)
		if err != nil {
			return nil, err
		}
		d.LocalAddr = la
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		tc := tls.Client(conn, o.TLS)
		_ = tc.SetDeadline(time.Now().Add(cmp.Or(o.Timeout, DefaultTimeout)))
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return nil, err
		}
		_ = tc.SetDeadline(time.Time{})
		conn = tc
	}
	return &Client{
		Conn:         conn,
		WriteTimeout: DefaultTimeout,
		br:           bufio.NewReader(conn),
	}, nil
}

func resolveLocal(s string) (*net.TCPAddr, error) {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return net.ResolveTCPAddr("tcp", s)
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("wstest: bad LocalAddr %q", s)
	}
	return &net.TCPAddr{IP: ip}, nil
}

// Dial connects to addr ("127.0.0.1:port"), sends a valid upgrade request
// (random 16-byte key, version 13, plus opts.Header), reads the response head
// byte-accurately (bytes behind it stay buffered for frame reads) and checks
// the 101 status, the Upgrade and Connection tokens and Sec-WebSocket-Accept.
// On a status other than 101 it reads the body, closes the connection and
// returns a *HandshakeError.
func Dial(addr string, opts *DialOptions) (*Client, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	deadline := time.Now().Add(cmp.Or(o.Timeout, DefaultTimeout))
	c, err := DialRaw(addr, &o)
	if err != nil {
		return nil, err
	}
	err = c.handshake(addr, &o, deadline)
	if err != nil {
		c.Conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) handshake(addr string, o *DialOptions, deadline time.Time) error {
	err := c.Conn.SetDeadline(deadline)
	if err != nil {
		return err
	}
	var nonce [16]byte
	rand.Read(nonce[:])

	type field struct {
		name   string
		values []string
	}
	fields := []field{
		{"Host", []string{addr}},
		{"Upgrade", []string{"websocket"}},
		{"Connection", []string{"Upgrade"}},
		{"Sec-WebSocket-Key", []string{base64.StdEncoding.EncodeToString(nonce[:])}},
		{"Sec-WebSocket-Version", []string{"13"}},
	}
	var extra []field
	for name, values := range o.Header {
		i := slices.IndexFunc(fields, func(f field) bool {
			return strings.EqualFold(f.name, name)
		})
		if i >= 0 {
			fields[i].values = values
			continue
		}
		extra = append(extra, field{name, values})
	}
	slices.SortFunc(extra, func(a, b field) int {
		return strings.Compare(a.name, b.name)
	})
	if len(fields[3].values) > 0 {
		c.Key = fields[3].values[0]
	}

	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\n", cmp.Or(o.Path, "/"))
	for _, f := range append(fields, extra...) {
		for _, v := range f.values {
			fmt.Fprintf(&req, "%s: %s\r\n", f.name, v)
		}
	}
	req.WriteString("\r\n")
	_, err = c.Conn.Write(req.Bytes())
	if err != nil {
		return err
	}

	resp, body, err := c.readResponse()
	if err != nil {
		return fmt.Errorf("wstest: reading handshake response: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return &HandshakeError{
			Status: resp.StatusCode,
			Header: resp.Header,
			Body:   string(body),
		}
	}
	if !hasToken(resp.Header, "Upgrade", "websocket") {
		return fmt.Errorf(
			"wstest: handshake response has Upgrade %q",
			resp.Header.Values("Upgrade"),
		)
	}
	if !hasToken(resp.Header, "Connection", "upgrade") {
		return fmt.Errorf(
			"wstest: handshake response has Connection %q",
			resp.Header.Values("Connection"),
		)
	}
	got, want := resp.Header.Get("Sec-WebSocket-Accept"), AcceptKey(c.Key)
	if got != want {
		return fmt.Errorf(
			"wstest: handshake response has Sec-WebSocket-Accept %q, want %q",
			got,
			want,
		)
	}
	c.Response = resp
	return c.Conn.SetDeadline(time.Time{})
}

func hasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// ReadHTTPResponse reads one HTTP response (head and body) within d (default
// DefaultTimeout when d <= 0), e.g. after DialRaw and WriteRaw. The body is
// delimited by Transfer-Encoding: chunked, Content-Length or the end of the
// connection; resp.Body reads it again. Every head line must end in CRLF.
// It does not know about HEAD requests.
func (c *Client) ReadHTTPResponse(d time.Duration) (*http.Response, []byte, error) {
	err := c.Conn.SetReadDeadline(time.Now().Add(orDefault(d)))
	if err != nil {
		return nil, nil, err
	}
	return c.readResponse()
}

func (c *Client) readResponse() (*http.Response, []byte, error) {
	head, err := c.readHead()
	if err != nil {
		return nil, nil, err
	}
	c.ResponseHead = head
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("wstest: malformed response head %q: %w", head, err)
	}
	var body io.Reader
	switch s := resp.StatusCode; {
	case s < 200, s == http.StatusNoContent, s == http.StatusNotModified:
		body = bytes.NewReader(nil)
	case slices.Contains(resp.TransferEncoding, "chunked"):
		body = httputil.NewChunkedReader(c.br)
	case resp.ContentLength >= 0:
		body = io.LimitReader(c.br, resp.ContentLength)
	default:
		body = c.br
	}
	p, err := io.ReadAll(io.LimitReader(body, MaxBodySize+1))
	if err != nil {
		return resp, p, fmt.Errorf("wstest: reading response body: %w", err)
	}
	if len(p) > MaxBodySize {
		return resp, p, fmt.Errorf("wstest: response body over %d bytes", MaxBodySize)
	}
	if resp.ContentLength > int64(len(p)) {
		return resp, p, fmt.Errorf(
			"wstest: response body has %d of %d bytes: %w",
			len(p),
			resp.ContentLength,
			io.ErrUnexpectedEOF,
		)
	}
	resp.Body = io.NopCloser(bytes.NewReader(p))
	return resp, p, nil
}

// readHead reads an HTTP head up to and including the empty line, consuming
// nothing behind it.
func (c *Client) readHead() ([]byte, error) {
	var head []byte
	start := 0 // start of the current line in head
	for {
		chunk, err := c.br.ReadSlice('\n')
		head = append(head, chunk...)
		if len(head) > MaxHeadSize {
			return head, fmt.Errorf("wstest: response head over %d bytes", MaxHeadSize)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return head, err
		}
		line := head[start:]
		if !bytes.HasSuffix(line, []byte("\r\n")) {
			return head, fmt.Errorf("wstest: response head line %q does not end in CRLF", line)
		}
		if len(line) == 2 {
			return head, nil
		}
		start = len(head)
	}
}

// Close closes the TCP connection.
func (c *Client) Close() error {
	return c.Conn.Close()
}

// CloseWrite shuts down the sending side of the TCP connection (sends FIN).
func (c *Client) CloseWrite() error {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		return tc.CloseWrite()
	}
	tc, ok := c.Conn.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("wstest: %T has no CloseWrite", c.Conn)
	}
	return tc.CloseWrite()
}

func orDefault(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultTimeout
	}
	return d
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}
