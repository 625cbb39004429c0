package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/region"
)

// Defaults for zero Dialer fields.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultMaxMessageSize   = codec.DefaultMaxMessageSize // 1 MiB
	DefaultMaxOutbound      = 4 << 20
	DefaultPingInterval     = 25 * time.Second
	DefaultPongTimeout      = 10 * time.Second
	DefaultCloseTimeout     = 5 * time.Second
	DefaultDeflateThreshold = 128
)

// Compression is the permessage-deflate (RFC 7692) offer a Dialer makes.
type Compression uint8

const (
	// CompressionOff offers nothing (the default: compression costs CPU on
	// every message both ways).
	CompressionOff Compression = iota
	// CompressionNoContextTakeover offers permessage-deflate with
	// server_no_context_takeover and client_no_context_takeover: every
	// message is compressed alone, so an idle connection keeps no flate
	// state (+0 bytes), as on the server side.
	CompressionNoContextTakeover
	// CompressionContextTakeover offers permessage-deflate with
	// client_max_window_bits (as browsers do); the server's answer decides.
	// Each direction that keeps context costs a dictionary of the
	// negotiated window (up to 32 KiB, allocated at the first compressed
	// message that way). A server that bounds our window below 32 KiB gets
	// every message compressed alone within that window (no outbound
	// dictionary); its server may then keep a smaller inbound window.
	CompressionContextTakeover
	// CompressionServerContextTakeover offers permessage-deflate with
	// client_no_context_takeover only: the server may keep context (its
	// answer decides), this client compresses every message alone and so
	// keeps no outbound dictionary, and the server needs none to inflate.
	CompressionServerContextTakeover
)

// Dialer holds the options of connections. Set its fields before the first
// Dial and do not change them afterwards: every connection it makes shares
// one normalized copy (that is what keeps a connection near a kilobyte).
// The zero Dialer is usable; zero fields take the defaults above, and a
// negative duration disables what it times.
type Dialer struct {
	// Client holds the event loops; nil: the process-wide Default() client.
	Client *Client

	// Header holds extra handshake request headers (Authorization,
	// Origin, User-Agent, ...). Host, Upgrade, Connection and the
	// Sec-WebSocket-* headers are the Dialer's own and are refused here.
	Header http.Header
	// Cookies are sent in one Cookie header.
	Cookies []*http.Cookie
	// Subprotocols are offered in Sec-WebSocket-Protocol, in order; the
	// server's choice is Conn.Protocol.
	Subprotocols []string
	// Compression is the permessage-deflate offer; DeflateThreshold the
	// size below which a message is sent uncompressed (0: 128 bytes).
	Compression      Compression
	DeflateThreshold int

	// TLSConfig is used for wss:// (cloned; ServerName defaults to the
	// URL's host). nil: a zero tls.Config.
	TLSConfig *tls.Config
	// Proxy returns the HTTP proxy for a request (http.ProxyFromEnvironment
	// fits); the connection is then tunnelled with CONNECT. A proxy URL's
	// user info becomes Proxy-Authorization: Basic. nil: no proxy.
	Proxy func(*http.Request) (*url.URL, error)
	// NetDialContext dials TCP (to the server or the proxy); it must return
	// a *net.TCPConn (or *net.UnixConn), whose descriptor moves to the event
	// loops. nil: a net.Dialer. Set it to pick a source address.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// HandshakeTimeout bounds dialling, proxying, TLS and the upgrade.
	HandshakeTimeout time.Duration
	// MaxMessageSize bounds an inbound message (after inflation); bigger
	// ones close the connection with 1009.
	MaxMessageSize int64
	// MaxOutbound bounds the bytes written but not yet taken by the
	// socket; a write past it fails with ErrOutboundFull.
	MaxOutbound int
	// PingInterval sends a ping after this long without a frame from the
	// server; PongTimeout then closes the connection (1006,
	// ErrPongTimeout) when nothing arrives: a dead server on a half-open
	// TCP connection is detected within PingInterval+PongTimeout.
	PingInterval time.Duration
	PongTimeout  time.Duration
	// CloseTimeout bounds the wait for the server's answer to our close.
	CloseTimeout time.Duration

	// Reconnect, when set, reconnects a connection the server or the
	// network closed (see Reconnect). nil: a closed connection stays closed.
	Reconnect *Reconnect

	once sync.Once
	cfg  *dialConfig
	err  error
}

// dialConfig is a Dialer normalized, shared by its connections.
type dialConfig struct {
	client       *Client
	extra        []byte // header lines written after our own
	protocols    []string
	compression  Compression
	threshold    int
	tls          *tls.Config
	proxy        func(*http.Request) (*url.URL, error)
	netDial      func(ctx context.Context, network, addr string) (net.Conn, error)
	handshake    time.Duration
	decCfg       codec.DecoderConfig
	maxOutbound  int
	pingInterval time.Duration
	pongTimeout  time.Duration
	closeTimeout time.Duration
	reconnect    *Reconnect
}

var reservedHeaders = []string{"Host", "Upgrade", "Connection", "Sec-Websocket-Key",
	"Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Content-Length", "Transfer-Encoding"}

func (d *Dialer) config() (*dialConfig, error) {
	d.once.Do(func() { d.cfg, d.err = d.normalize() })
	return d.cfg, d.err
}

func dur(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func (d *Dialer) normalize() (*dialConfig, error) {
	cl := d.Client
	if cl == nil {
		var err error
		if cl, err = Default(); err != nil {
			return nil, err
		}
	}
	cfg := &dialConfig{
		client:       cl,
		protocols:    append([]string(nil), d.Subprotocols...),
		compression:  d.Compression,
		threshold:    d.DeflateThreshold,
		proxy:        d.Proxy,
		netDial:      d.NetDialContext,
		handshake:    dur(d.HandshakeTimeout, DefaultHandshakeTimeout),
		maxOutbound:  d.MaxOutbound,
		pingInterval: dur(d.PingInterval, DefaultPingInterval),
		pongTimeout:  dur(d.PongTimeout, DefaultPongTimeout),
		closeTimeout: dur(d.CloseTimeout, DefaultCloseTimeout),
		reconnect:    d.Reconnect,
	}
	if cfg.threshold <= 0 {
		cfg.threshold = DefaultDeflateThreshold
	}
	if cfg.maxOutbound <= 0 {
		cfg.maxOutbound = DefaultMaxOutbound
	}
	cfg.decCfg = codec.DecoderConfig{MaxMessageSize: d.MaxMessageSize, FromServer: true}
	if cfg.decCfg.MaxMessageSize <= 0 {
		cfg.decCfg.MaxMessageSize = DefaultMaxMessageSize
	}
	// As the engine's: a message past 64 KiB goes to a region reserved at
	// the message limit, whose pages are committed as bytes arrive and kept
	// for the next large message (internal/region), instead of a heap
	// buffer regrown by doubling and dropped after each one.
	if p := region.ForLimit(cfg.decCfg.MaxMessageSize, codec.SmallMessageMax); p != nil {
		cfg.decCfg.Large = p
	}
	if d.TLSConfig != nil {
		cfg.tls = d.TLSConfig.Clone()
	}
	if cfg.netDial == nil {
		var nd net.Dialer
		cfg.netDial = nd.DialContext
	}
	for _, p := range cfg.protocols {
		if !validToken([]byte(p)) {
			return nil, fmt.Errorf("client: subprotocol %q is not a token", p)
		}
	}
	var b bytes.Buffer
	for name, vals := range d.Header {
		for _, r := range reservedHeaders {
			if strings.EqualFold(name, r) {
				return nil, fmt.Errorf("client: header %s is set by the Dialer", name)
			}
		}
		if !validToken([]byte(name)) {
			return nil, fmt.Errorf("client: header name %q is not a token", name)
		}
		for _, v := range vals {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, fmt.Errorf("client: header %s has a CR, LF or NUL", name)
			}
			fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		}
	}
	if len(d.Cookies) > 0 {
		parts := make([]string, 0, len(d.Cookies))
		for _, c := range d.Cookies {
			s := c.String() // sanitizes name and value
			if s == "" {
				return nil, fmt.Errorf("client: invalid cookie %q", c.Name)
			}
			parts = append(parts, s)
		}
		fmt.Fprintf(&b, "Cookie: %s\r\n", strings.Join(parts, "; "))
	}
	cfg.extra = b.Bytes()
	if d.Reconnect != nil {
		if err := d.Reconnect.normalize(); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// target is a parsed ws:// or wss:// URL.
type target struct {
	u        *url.URL
	secure   bool
	hostport string // for TCP and CONNECT
	host     string // Host header
}

func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("client: %w", err)
	}
	t := target{u: u}
	switch u.Scheme {
	case "ws", "http":
	case "wss", "https":
		t.secure = true
	default:
		return target{}, fmt.Errorf("client: URL scheme %q: want ws or wss", u.Scheme)
	}
	if u.Host == "" {
		return target{}, errors.New("client: URL has no host")
	}
	t.host = u.Host
	port := u.Port()
	if port == "" {
		port = "80"
		if t.secure {
			port = "443"
		}
	}
	t.hostport = net.JoinHostPort(u.Hostname(), port)
	return t, nil
}

// session is one established connection before it moves to a loop.
type session struct {
	nc       net.Conn // the TCP connection (its descriptor is enrolled)
	sec      *secure  // TLS, nil for ws://
	rest     []byte   // bytes that followed the 101: frames
	protocol string
	pmd      codec.DeflateParams
	pmdOK    bool
	url      string
}

func (s *session) close() {
	if s.nc != nil {
		_ = s.nc.Close()
	}
}

// connect dials, tunnels, secures and upgrades: everything that blocks, on
// the calling goroutine, bounded by the handshake timeout.
func (cfg *dialConfig) connect(ctx context.Context, raw string) (*session, error) {
	t, err := parseTarget(raw)
	if err != nil {
		return nil, err
	}
	if cfg.handshake > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.handshake)
		defer cancel()
	}
	var proxyURL *url.URL
	if cfg.proxy != nil {
		pu := *t.u
		if t.secure {
			pu.Scheme = "https"
		} else {
			pu.Scheme = "http"
		}
		proxyURL, err = cfg.proxy(&http.Request{Method: "GET", URL: &pu, Host: t.host, Header: http.Header{}})
		if err != nil {
			return nil, fmt.Errorf("client: proxy: %w", err)
		}
	}
	addr := t.hostport
	if proxyURL != nil {
		addr = proxyURL.Host
		if proxyURL.Port() == "" {
			addr = net.JoinHostPort(proxyURL.Hostname(), "80")
		}
	}
	nc, err := cfg.netDial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &session{nc: nc, url: raw}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	if dl, has := ctx.Deadline(); has {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var rw io.ReadWriter = nc
	if proxyURL != nil {
		if err := tunnel(nc, proxyURL, t.hostport); err != nil {
			return nil, ctxErr(ctx, err)
		}
	}
	if t.secure {
		tc := cfg.tls
		if tc == nil {
			tc = &tls.Config{}
		} else {
			tc = tc.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = t.u.Hostname()
		}
		if len(tc.NextProtos) == 0 {
			tc.NextProtos = []string{"http/1.1"}
		}
		s.sec, rw, err = handshake(ctx, nc, tc)
		if err != nil {
			return nil, ctxErr(ctx, err)
		}
	}
	var keyRaw [16]byte
	_, _ = rand.Read(keyRaw[:])
	key := base64.StdEncoding.EncodeToString(keyRaw[:])
	if _, err := rw.Write(cfg.request(t, key)); err != nil {
		return nil, ctxErr(ctx, err)
	}
	head, rest, err := readHead(rw, DefaultMaxResponseHead)
	if err != nil {
		return nil, ctxErr(ctx, err)
	}
	r, err := parseResponse(head)
	if err != nil {
		return nil, err
	}
	if r.status != 101 {
		return nil, ctxErr(ctx, errorResponse(rw, &r, rest, false))
	}
	if err := cfg.checkUpgrade(&r, key, s); err != nil {
		return nil, err
	}
	if rs, ok := rw.(*recStream); ok && len(rs.plain) > 0 {
		// Frames that came in the record that ended the head.
		rest = append(rest, rs.plain...)
	}
	if s.sec != nil {
		if err := s.sec.settle(); err != nil {
			return nil, err
		}
	}
	s.rest = rest
	_ = nc.SetDeadline(time.Time{})
	ok = true
	return s, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ce := ctx.Err(); ce != nil {
		var he *HandshakeError
		if !errors.As(err, &he) {
			return fmt.Errorf("client: handshake: %w (%v)", ce, err)
		}
	}
	return err
}

// request is the upgrade request.
func (cfg *dialConfig) request(t target, key string) []byte {
	var b bytes.Buffer
	b.WriteString("GET ")
	b.WriteString(t.u.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(t.host)
	b.WriteString("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
	b.WriteString(key)
	b.WriteString("\r\n")
	if len(cfg.protocols) > 0 {
		b.WriteString("Sec-WebSocket-Protocol: ")
		b.WriteString(strings.Join(cfg.protocols, ", "))
		b.WriteString("\r\n")
	}
	switch cfg.compression {
	case CompressionNoContextTakeover:
		b.WriteString("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n")
	case CompressionContextTakeover:
		b.WriteString("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
	case CompressionServerContextTakeover:
		b.WriteString("Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n")
	}
	b.Write(cfg.extra)
	b.WriteString("\r\n")
	return b.Bytes()
}

// readHead reads until the end of an HTTP head; rest is what came after.
func readHead(r io.Reader, max int) (head, rest []byte, err error) {
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= max+4096 {
				return nil, nil, errHeadTooLarge
			}
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if end := headEnd(buf); end > 0 {
			if end > max {
				return nil, nil, errHeadTooLarge
			}
			rest := buf[end:]
			if len(rest) == 0 {
				rest = nil
			}
			return buf[:end], rest, nil
		}
		if len(buf) > max {
			return nil, nil, errHeadTooLarge
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
	}
}

// errorResponse builds the HandshakeError of a non-101 response, reading
// its body (Content-Length, bounded, or until EOF within the deadline).
func errorResponse(r io.Reader, h *respHead, rest []byte, proxy bool) error {
	e := &HandshakeError{Status: h.status, Header: h.httpHeader(), Proxy: proxy, Reason: "unexpected status"}
	want := maxErrorBody
	if v, ok := h.header("Content-Length"); ok {
		var n int
		if _, err := fmt.Sscanf(string(v), "%d", &n); err == nil && n >= 0 && n < want {
			want = n
		}
	} else if _, chunked := h.header("Transfer-Encoding"); chunked {
		want = len(rest) // not decoded: what arrived with the head
	}
	body := append([]byte(nil), rest...)
	if len(body) < want {
		tmp := make([]byte, min(want-len(body), 4096))
		for len(body) < want {
			n, err := r.Read(tmp[:min(len(tmp), want-len(body))])
			body = append(body, tmp[:n]...)
			if err != nil {
				break
			}
		}
	}
	if len(body) > want {
		body = body[:want]
	}
	e.Body = body
	return e
}

// checkUpgrade validates a 101 (RFC 6455 §4.1, RFC 7692 §5) and records
// what it agreed.
func (cfg *dialConfig) checkUpgrade(r *respHead, key string, s *session) error {
	bad := func(why string) error {
		return &HandshakeError{Status: r.status, Header: r.httpHeader(), Reason: why}
	}
	if v, _ := r.header("Upgrade"); !equalFold(v, "websocket") {
		return bad("missing Upgrade: websocket")
	}
	upgrade := false
	r.elements("Connection", func(e []byte) {
		if equalFold(e, "upgrade") {
			upgrade = true
		}
	})
	if !upgrade {
		return bad("missing Connection: Upgrade")
	}
	var want [codec.AcceptKeySize]byte
	codec.PutAcceptKey(want[:], []byte(key))
	if v, _ := r.header("Sec-WebSocket-Accept"); !bytes.Equal(v, want[:]) {
		return bad("bad Sec-WebSocket-Accept")
	}
	if v, ok := r.header("Sec-WebSocket-Protocol"); ok {
		found := false
		for _, p := range cfg.protocols {
			if string(v) == p {
				found = true
				s.protocol = p
			}
		}
		if !found {
			return bad("server chose a subprotocol we did not offer")
		}
	}
	var extErr string
	r.elements("Sec-WebSocket-Extensions", func(e []byte) {
		if extErr != "" {
			return
		}
		o, ok := codec.ParseDeflateOffer(e)
		switch {
		case !ok:
			extErr = "server answered an extension we did not offer"
		case cfg.compression == CompressionOff || s.pmdOK:
			extErr = "server answered permessage-deflate we did not offer (or twice)"
		case cfg.compression == CompressionNoContextTakeover && !o.ServerNoContextTakeover:
			extErr = "server refused server_no_context_takeover"
		default:
			s.pmdOK = true
			s.pmd = codec.DeflateParams{
				ServerNoContextTakeover: o.ServerNoContextTakeover,
				ClientNoContextTakeover: o.ClientNoContextTakeover || cfg.compression == CompressionNoContextTakeover ||
					cfg.compression == CompressionServerContextTakeover,
				ServerMaxWindowBits: o.ServerMaxWindowBits,
				// A client_max_window_bits below 15 (offered by
				// CompressionContextTakeover; lxzan/gws sends it even when
				// not offered): every message is then compressed alone,
				// no reference reaching further than the window.
				ClientMaxWindowBits: o.ClientMaxWindowBits,
			}
		}
	})
	if extErr != "" {
		return bad(extErr)
	}
	return nil
}

// Dial connects to a ws:// or wss:// URL and returns once the connection
// is open and h.OnOpen has run (on the connection's loop). The dial, proxy
// tunnel, TLS handshake and upgrade block the caller, bounded by ctx and
// HandshakeTimeout; then the socket moves to an event loop. A refused
// handshake returns a *HandshakeError. Do not call Dial from a Handler
// callback (ErrDialOnLoop).
func (d *Dialer) Dial(ctx context.Context, url string, h Handler) (*Conn, error) {
	cfg, err := d.config()
	if err != nil {
		return nil, err
	}
	cl := cfg.client
	if cl.closing.Load() {
		return nil, ErrClientClosed
	}
	if cl.onLoop() {
		return nil, ErrDialOnLoop
	}
	if h == nil {
		h = Handlers{}
	}
	s, err := cfg.connect(ctx, url)
	if err != nil {
		return nil, err
	}
	c := &Conn{cfg: cfg, h: h}
	if cfg.reconnect != nil {
		c.rc = newRedial(cfg.reconnect)
	}
	c.info.Store(&info{url: url})
	cl.live.Add(1)
	en := &enrolling{c: c, s: s}
	if _, err := cl.gcl.EnrollContext(s.nc, en); err != nil {
		cl.live.Add(-1)
		s.close()
		return nil, err
	}
	if !en.opened {
		return nil, ErrClientClosed
	}
	return c, nil
}

var defaultDialer Dialer

// Dial connects with a zero Dialer on the Default() client.
func Dial(ctx context.Context, url string, h Handler) (*Conn, error) {
	return defaultDialer.Dial(ctx, url, h)
}
