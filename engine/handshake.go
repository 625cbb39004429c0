package engine

import (
	"errors"
	"net/url"
	"strings"

	"github.com/switchboard-ws/switchboard/codec"
)

// readHandshake looks for a complete request head; when there is one it
// answers it (101, an HTTP response or an error) and, after a 101, goes on
// with the frames that came behind the head in the same packets.
func (l *loop) readHandshake(c *Conn) {
	cfg := &l.srv.cfg
	if e := c.ext.Load(); e != nil && e.decision != nil {
		l.deferredPending(c, e.decision) // the hook deferred: wait for its answer
		return
	}
	buf := l.inPeek(c)
	if len(buf) > 0 && (buf[0] < 'A' || buf[0] > 'Z') {
		// Not an HTTP method (a TLS hello on a plain port, garbage): answer
		// now rather than at the handshake timeout.
		l.rejectCodec(c, codec.ErrMalformedRequest, rejectMalformed)
		return
	}
	end, scanned, err := codec.HeadEnd(buf, int(c.lastRecv), cfg.MaxHeadSize)
	if err != nil {
		l.rejectCodec(c, err, rejectHeadTooLarge)
		return
	}
	if end == 0 {
		c.lastRecv = uint32(scanned) // see Conn.lastRecv
		return
	}
	req := &l.req
	if err := codec.ParseRequest(buf[:end], req); err != nil {
		l.rejectCodec(c, err, rejectMalformed)
		return
	}
	ur := &UpgradeRequest{Request: req, RemoteAddr: c.RemoteAddr(), conn: c, end: end}
	if !req.IsUpgrade() {
		l.serveHTTP(c, ur)
		return
	}
	var resp UpgradeResponse
	r, ok := l.srv.decideUpgrade(ur, &resp)
	switch {
	case !ok:
		l.refuse(c, r)
	case ur.decision != nil:
		l.park(c, ur.decision) // answered later: finishDeferred (defer.go)
	default:
		l.open(c, req.Key, &resp, l.srv.keepInfo(req, resp.Protocol), end, ur.agreedDeflate(&resp))
	}
	*req = codec.Request{} // do not keep the head alive through the scratch request
}

// open writes the 101 for the request head of length end, makes c an open
// connection keeping info and resp.Value (and permessage-deflate with pmd,
// when not nil), runs OnOpen, then goes on with the frames that came
// behind the head.
func (l *loop) open(c *Conn, key []byte, resp *UpgradeResponse, info *connInfo, end int, pmd *codec.DeflateParams) {
	cfg := &l.srv.cfg
	if info != rootInfo {
		c.extension().info = info
	}
	if resp.Value != nil {
		c.SetValue(resp.Value)
	}
	out := appendUpgrade(l.resp[:0], key, resp, pmd)
	l.resp = out[:0]
	if err := l.put(c, out, nil); err != nil || c.state == stateClosed {
		return
	}
	if pmd != nil {
		c.setDeflate(pmd)
	}
	l.inDiscard(c, end)
	c.flags |= flagUpgraded
	if t := c.tlsState(); t != nil {
		t.cs = nil // seen by the upgrade hook; not kept
	}
	c.state = stateOpen
	now := l.tick()
	c.lastRecv = now
	if cfg.IdleTimeout > 0 {
		c.extension().lastMessage = now
	}
	l.stats.accepted.Add(1)
	l.armHeartbeat(c)
	l.dispatchOpen(c)
	if c.state == stateOpen && l.inBuffered(c) > 0 {
		l.readFrames(c)
	}
}

// verdict is why a handshake was refused: a handshake error the codec
// found, or a policy or application refusal.
type verdict struct {
	reason rejectReason
	codec  *codec.Error // set for a codec error
	http   *HTTPError   // set otherwise
}

// decideUpgrade makes the checks every upgrade passes, on the engine's own
// listener and through net/http alike, after the request head is parsed:
// shutdown, ValidateUpgrade, the Origin policy, then the Upgrade hook
// (which may fill resp; a panic in it refuses with 500) and the subprotocol
// it chose. It reports false and why when the handshake is refused. When
// the hook deferred (UpgradeRequest.Defer) on the engine's listener it
// reports true with ur.decision set; through net/http it waits for the
// answer here.
func (s *Server) decideUpgrade(ur *UpgradeRequest, resp *UpgradeResponse) (verdict, bool) {
	if s.shuttingDown.Load() {
		return verdict{reason: rejectShutdown, http: &HTTPError{Status: 503, Body: "server shutting down\n"}}, false
	}
	if err := ur.ValidateUpgrade(); err != nil {
		var ce *codec.Error
		if !errors.As(err, &ce) || ce.Status == 0 {
			ce = codec.ErrMalformedRequest
		}
		return verdict{reason: rejectInvalid, codec: ce}, false
	}
	if !s.originAllowed(ur) {
		return verdict{reason: rejectOrigin, http: &HTTPError{Status: 403, Body: "origin not allowed\n"}}, false
	}
	if s.cfg.Deflate.Mode != codec.DeflateOff {
		ur.deflate, ur.deflateOK = s.cfg.Deflate.NegotiateDeflate(ur.Request)
	}
	hook := s.cfg.Upgrade
	if hook == nil {
		return verdict{}, true
	}
	ur.srv = s // Defer works only during the hook
	err := s.callUpgradeHook(hook, ur, resp)
	ur.srv = nil
	if d := ur.decision; d != nil {
		switch {
		case err != nil: // deferred, then refused or panicked
			d.cancel()
			ur.decision = nil
		case ur.conn != nil:
			return verdict{}, true // parked on the loop until answered
		default:
			ur.decision = nil
			err = s.awaitDecision(d, resp) // net/http: this goroutine may wait
		}
	}
	if ur.overCap {
		return verdict{reason: rejectPendingUpgrades, http: pendingUpgradesFull}, false
	}
	if err != nil {
		return verdict{reason: rejectHook, http: hookRefusal(err)}, false
	}
	if resp.Protocol != "" && !ur.HasProtocol(resp.Protocol) {
		s.logger.Info("upgrade hook chose a subprotocol the client did not offer", "protocol", resp.Protocol, "remote", addrString(ur.RemoteAddr))
		return verdict{reason: rejectHook, http: &HTTPError{Status: 500, Body: "internal error\n"}}, false
	}
	if setsExtensions(resp) {
		s.logger.Info("upgrade hook set Sec-WebSocket-Extensions, which only the engine answers (see Config.Deflate)", "remote", addrString(ur.RemoteAddr))
		return verdict{reason: rejectHook, http: &HTTPError{Status: 500, Body: "internal error\n"}}, false
	}
	return verdict{}, true
}

// agreedDeflate is the permessage-deflate answer for an accepted
// handshake: nil when negotiation agreed on nothing or resp declined it.
func (r *UpgradeRequest) agreedDeflate(resp *UpgradeResponse) *codec.DeflateParams {
	if !r.deflateOK || resp.NoDeflate {
		return nil
	}
	return &r.deflate
}

// refuse answers a refused handshake on the engine's own listener.
func (l *loop) refuse(c *Conn, r verdict) {
	if r.codec != nil {
		l.rejectCodec(c, r.codec, r.reason)
		return
	}
	l.reject(c, r.http, r.reason)
}

func (s *Server) callUpgradeHook(hook UpgradeFunc, r *UpgradeRequest, resp *UpgradeResponse) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.logPanic(nil, p)
			err = &HTTPError{Status: 500, Body: "internal error\n"}
		}
	}()
	return hook(r, resp)
}

// serveHTTP answers a request that is not an upgrade, then closes.
func (l *loop) serveHTTP(c *Conn, r *UpgradeRequest) {
	var resp *HTTPResponse
	if f := l.srv.cfg.HTTP; f != nil {
		func() {
			defer func() {
				if p := recover(); p != nil {
					l.srv.logPanic(nil, p)
					resp = &HTTPResponse{Status: 500, Body: []byte("internal error\n")}
				}
			}()
			resp = f(r)
		}()
	}
	l.stats.reject(rejectNotUpgrade)
	var out []byte
	if resp == nil {
		out = codec.AppendHandshakeError(l.resp[:0], codec.ErrNotUpgrade, nil)
	} else {
		status := resp.Status
		if status == 0 {
			status = 200
		}
		out = codec.AppendResponse(l.resp[:0], status, resp.Header, resp.ContentType, resp.Body)
	}
	l.resp = out[:0]
	l.respondAndClose(c, out)
}

// rejectCodec answers a handshake error found by the codec.
func (l *loop) rejectCodec(c *Conn, err error, reason rejectReason) {
	var ce *codec.Error
	if !errors.As(err, &ce) || ce.Status == 0 {
		ce = codec.ErrMalformedRequest
	}
	if ce.Status == 431 {
		reason = rejectHeadTooLarge
	}
	l.stats.reject(reason)
	l.srv.logOnce(c, "websocket handshake rejected", "status", ce.Status, "reason", ce.Reason)
	out := codec.AppendHandshakeError(l.resp[:0], ce, nil)
	l.resp = out[:0]
	l.respondAndClose(c, out)
}

// reject answers a handshake with an application or policy error.
func (l *loop) reject(c *Conn, he *HTTPError, reason rejectReason) {
	l.stats.reject(reason)
	l.srv.logOnce(c, "websocket handshake rejected", "status", he.Status, "reason", reason.String())
	body := he.Body
	out := codec.AppendResponse(l.resp[:0], he.Status, he.Header, "", []byte(body))
	l.resp = out[:0]
	l.respondAndClose(c, out)
}

func (l *loop) respondAndClose(c *Conn, out []byte) {
	_ = l.put(c, out, nil)
	l.abort(c, &CloseError{Code: codec.CloseAbnormal})
}

// originAllowed applies Config.CheckOrigin or the default policy: no Origin
// (not a browser) passes; an Origin whose host equals Host passes; so does
// one listed in AllowedOrigins.
func (s *Server) originAllowed(r *UpgradeRequest) bool {
	if s.cfg.CheckOrigin != nil {
		return s.cfg.CheckOrigin(r)
	}
	origin := r.Origin
	if len(origin) == 0 {
		return true
	}
	for _, a := range s.cfg.AllowedOrigins {
		if a == "*" || strings.EqualFold(a, string(origin)) {
			return true
		}
	}
	u, err := url.Parse(string(origin))
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, string(r.Host))
}

// rootInfo is shared by every connection that keeps nothing but path "/".
var rootInfo = &connInfo{path: "/"}

// keepInfo copies what the connection keeps from its request.
func (s *Server) keepInfo(r *codec.Request, protocol string) *connInfo {
	if protocol == "" && len(r.RawQuery) == 0 && len(s.cfg.KeepHeaders) == 0 && string(r.Path) == "/" {
		return rootInfo
	}
	info := &connInfo{path: string(r.Path), rawQuery: string(r.RawQuery), protocol: protocol}
	for _, name := range s.cfg.KeepHeaders {
		if v := r.Header(name); v != nil {
			info.header = append(info.header, codec.HeaderField{Name: name, Value: string(v)})
		}
	}
	return info
}
