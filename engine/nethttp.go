package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/switchboard-ws/switchboard/codec"
)

// Mounting on net/http: the handshake runs in the request's goroutine (so
// middleware, routing and blocking auth work as usual), then the connection
// is hijacked and handed to the server's event loops, where it lives exactly
// as a connection accepted on the engine's own listener. See "Mounting on
// net/http" in docs/architecture.md.

var (
	// ErrTLSHandoff is returned (after a 500) for a request net/http served
	// over TLS: crypto/tls state cannot move to an event loop. Terminate TLS
	// in front of the server (a proxy or load balancer) or use the engine's
	// own listener.
	ErrTLSHandoff = errors.New("engine: a connection net/http serves over TLS cannot be handed to the event loops; terminate TLS in front of the server or use the engine's own listener")
	// ErrNotHijackable is returned (after a 500) when the ResponseWriter
	// cannot be hijacked: an HTTP/2 request, or a wrapper that hides
	// http.Hijacker (wrappers should implement Unwrap, see
	// http.ResponseController). Serve the WebSocket path over HTTP/1.1.
	ErrNotHijackable = errors.New("engine: the http.ResponseWriter cannot be hijacked (HTTP/2, or a wrapper without Unwrap)")
)

// HTTPHandler returns an http.Handler that upgrades every request it gets
// to a WebSocket served by s, as UpgradeHTTP(w, r, nil) does. Mount it on
// any router, behind any middleware:
//
//	mux.Handle("/ws", requireLogin(srv.HTTPHandler()))
//
// The server must be running (Run): until its loops are up a request
// waits for them; once it has stopped, or before Run was called, requests
// get 503.
func (s *Server) HTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = s.UpgradeHTTP(w, r, nil) })
}

// UpgradeHTTP upgrades r to a WebSocket and hands the connection to s's
// event loops. It runs in the caller's goroutine (an http.Handler's) and
// may block there: the checks the engine's own listener makes run here,
// in this order: the connection ceiling, MaxConnsPerIP and
// MaxHandshakesPerSecond, MaxHeadSize, the upgrade's validity, the Origin
// policy, then Config.Upgrade, which here may block (a database lookup is
// fine; the same hook on the engine's own listener must not). preset, when
// not nil, fills the UpgradeResponse the hook starts from: a handler that
// authenticated the request can pass the user as preset.Value, and a
// subprotocol or extra headers, without a hook.
//
// On success it writes the 101 itself, hijacks the connection, hands it
// over (with any bytes the client sent behind its request) and returns nil
// once OnOpen has run on the connection's loop; nothing of net/http's stays
// with the connection. Otherwise the response has been written (a refusal
// through w, like any handler's) or the connection closed, and the error
// says why: an *HTTPError or *codec.Error with the status sent,
// ErrServerClosed, ErrTLSHandoff, ErrNotHijackable, or an I/O error.
//
// Connections served by net/http over TLS or HTTP/2 cannot be handed over
// (ErrTLSHandoff, ErrNotHijackable).
func (s *Server) UpgradeHTTP(w http.ResponseWriter, r *http.Request, preset *UpgradeResponse) error {
	m := &s.mount
	if !s.waitMounted(r.Context()) {
		return s.refuseHTTP(w, verdict{reason: rejectShutdown, http: &HTTPError{Status: 503, Body: "websocket server not running\n"}}, ErrServerClosed)
	}
	if r.TLS != nil {
		if m.tlsWarned.CompareAndSwap(false, true) {
			s.logger.Error(ErrTLSHandoff.Error(), "path", r.URL.Path)
		}
		return s.refuseHTTP(w, verdict{reason: rejectInvalid, http: &HTTPError{Status: 500, Body: "websocket over TLS is not served here\n"}}, ErrTLSHandoff)
	}
	remote := tcpAddrOf(r.RemoteAddr)

	// Admission, as OnOpen makes it for an accepted connection. From here
	// the connection counts as open (handshaking) until it closes or is
	// refused.
	if s.live.Add(1) > int64(s.ceiling) || s.shuttingDown.Load() {
		s.live.Add(-1)
		v := verdict{reason: rejectCapacity, http: &HTTPError{Status: 503, Header: retryAfter, Body: "server at connection capacity\n"}}
		if s.shuttingDown.Load() {
			v = verdict{reason: rejectShutdown, http: &HTTPError{Status: 503, Body: "server shutting down\n"}}
		}
		return s.refuseHTTP(w, v, nil)
	}
	if status, reason, ok := s.admit(remote); !ok {
		s.live.Add(-1)
		v := verdict{reason: reason, http: &HTTPError{Status: status, Header: retryAfter, Body: "too many new connections\n"}}
		if status == 429 {
			v.http = &HTTPError{Status: 429, Body: "too many connections from this address\n"}
		}
		return s.refuseHTTP(w, v, nil)
	}
	admitted := true
	defer func() {
		if admitted { // refused or failed before OnOpen: undo the admission
			s.live.Add(-1)
			s.release(remote)
		}
	}()

	sc := getScratch()
	defer putScratch(sc)
	sc.head = appendHead(sc.head[:0], r)
	if len(sc.head) > s.cfg.MaxHeadSize {
		return s.refuseHTTP(w, verdict{reason: rejectHeadTooLarge, codec: codec.ErrHeadTooLarge}, nil)
	}
	req := &sc.req
	if err := codec.ParseRequest(sc.head, req); err != nil {
		var ce *codec.Error
		if !errors.As(err, &ce) || ce.Status == 0 {
			ce = codec.ErrMalformedRequest
		}
		return s.refuseHTTP(w, verdict{reason: rejectMalformed, codec: ce}, nil)
	}
	if !req.IsUpgrade() {
		return s.refuseHTTP(w, verdict{reason: rejectNotUpgrade, codec: codec.ErrNotUpgrade}, nil)
	}
	ur := &UpgradeRequest{Request: req, RemoteAddr: remote}
	var resp UpgradeResponse
	if preset != nil {
		resp = *preset
	}
	if v, ok := s.decideUpgrade(ur, &resp); !ok {
		return s.refuseHTTP(w, v, nil)
	}
	a := &adoption{info: s.keepInfo(req, resp.Protocol), value: resp.Value}
	pmd := ur.agreedDeflate(&resp)
	if pmd != nil {
		a.deflate, a.deflateOK = *pmd, true
	}
	sc.out = appendUpgrade(sc.out[:0], req.Key, &resp, pmd)

	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		v := verdict{reason: rejectInvalid, http: &HTTPError{Status: 500, Body: "websocket upgrade not possible on this connection\n"}}
		return s.refuseHTTP(w, v, ErrNotHijackable)
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok { // a custom listener's connection type: gnet adopts TCP sockets only
		m.stats.reject(rejectInvalid)
		_, _ = nc.Write(codec.AppendResponse(nil, 500, nil, "", []byte("websocket upgrade not possible on this connection\n")))
		_ = nc.Close()
		return ErrNotHijackable
	}
	carry, err := s.finishHandshake(tc, brw.Reader, sc.out)
	if err != nil {
		_ = nc.Close()
		return err
	}
	a.carry = carry
	if err := s.handOver(tc, a); err != nil {
		return err
	}
	admitted = false // counted by the connection now; OnClose undoes it
	return nil
}

var retryAfter = []codec.HeaderField{{Name: "Retry-After", Value: "1"}}

// waitMounted waits until the server's loops run (Run started them), and
// reports false when they never will: Run was not called, or the server
// stopped, or ctx ended first.
func (s *Server) waitMounted(ctx context.Context) bool {
	if !s.mount.isReady.Load() {
		if !s.started.Load() {
			return false
		}
		select {
		case <-s.mount.readyCh():
		case <-s.done:
			return false
		case <-ctx.Done():
			return false
		}
	}
	select {
	case <-s.done:
		return false
	default:
		return !s.shuttingDown.Load()
	}
}

// refuseHTTP counts and logs a refused handshake and answers it through w.
// It returns err, or the refusal itself when err is nil.
func (s *Server) refuseHTTP(w http.ResponseWriter, v verdict, err error) error {
	s.mount.stats.reject(v.reason)
	h := w.Header()
	if ce := v.codec; ce != nil {
		status := ce.Status
		if status < 400 || status > 599 {
			status = 500
		}
		switch ce {
		case codec.ErrBadVersion:
			h.Set("Sec-WebSocket-Version", "13")
		case codec.ErrNotUpgrade:
			h.Set("Upgrade", "websocket")
		}
		s.logger.Info("websocket handshake rejected", "status", status, "reason", ce.Reason, "via", "net/http")
		http.Error(w, ce.Reason, status)
		if err == nil {
			err = ce
		}
		return err
	}
	he := v.http
	status := he.Status
	if status < 100 || status > 999 {
		status = 500
	}
	for _, f := range he.Header {
		h.Add(f.Name, f.Value)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	s.logger.Info("websocket handshake rejected", "status", status, "reason", v.reason.String(), "via", "net/http")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, he.Body)
	if err == nil {
		err = he
	}
	return err
}

// finishHandshake writes the 101 on the hijacked connection and returns
// the bytes the client sent behind its request (net/http may have read
// them into br), completed so that they end on a boundary the decoder can
// consume: when they stop inside a frame header or a control frame, the
// rest of it is read here, within the handshake timeout.
func (s *Server) finishHandshake(tc *net.TCPConn, br io.Reader, response []byte) ([]byte, error) {
	d := s.cfg.HandshakeTimeout
	if d <= 0 {
		d = DefaultHandshakeTimeout
	}
	_ = tc.SetDeadline(time.Now().Add(d))
	if n := s.cfg.SocketSendBuffer; n > 0 {
		_ = tc.SetWriteBuffer(n)
	}
	var carry []byte
	if b, ok := br.(interface{ Buffered() int }); ok {
		if n := b.Buffered(); n > 0 {
			carry = make([]byte, n)
			if _, err := io.ReadFull(br, carry); err != nil { // from the buffer: no socket read
				return nil, err
			}
		}
	}
	if _, err := tc.Write(response); err != nil {
		return nil, err
	}
	// A frame header is at most 14 bytes and a control frame 139: two
	// rounds learn and fetch the header, a third the control payload.
	for range 4 {
		need := tailNeed(carry)
		if need == 0 {
			return carry, nil
		}
		n := len(carry)
		carry = append(carry, make([]byte, need)...)
		if _, err := io.ReadFull(tc, carry[n:]); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("engine: first frame after the handshake still incomplete")
}

// handOver moves tc to an event loop (gnet dups its descriptor and closes
// tc) and waits until OnOpen has run there.
func (s *Server) handOver(tc *net.TCPConn, a *adoption) error {
	ctx := gnet.NewContext(gnet.NewNetConnContext(context.Background(), tc), a)
	ch, err := s.eng.Register(ctx)
	if err != nil {
		_ = tc.Close()
		return err
	}
	var res gnet.RegisteredResult
	select {
	case res = <-ch:
	case <-s.done: // the loops stopped before taking the connection
	}
	switch {
	case a.opened.Load():
		return nil
	case res.Err != nil:
		return res.Err
	}
	return ErrServerClosed
}

// tcpAddrOf parses an http.Request's RemoteAddr.
func tcpAddrOf(s string) *net.TCPAddr {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}
