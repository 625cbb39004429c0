package engine

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// startMounted runs a server and an http.Server on loopback with the
// server's handler at /ws (behind mw when set) and /healthz beside it. It
// returns the server and the http.Server's address.
func startMounted(t testing.TB, h Handler, tweak func(*Config), mw func(http.Handler) http.Handler) (*Server, string) {
	t.Helper()
	srv, _ := startServer(t, h, tweak)
	ws := srv.HTTPHandler()
	if mw != nil {
		ws = mw(ws)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", ws)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	return srv, strings.TrimPrefix(hs.URL, "http://")
}

func TestNetHTTPEcho(t *testing.T) {
	rec := newRecorder()
	srv, addr := startMounted(t, rec, func(c *Config) {
		c.KeepHeaders = []string{"X-Team"}
		c.Upgrade = func(r *UpgradeRequest, resp *UpgradeResponse) error {
			if r.HasProtocol("chat.v2") {
				resp.Protocol = "chat.v2"
			}
			resp.Value = "from hook " + string(r.Header("X-Team"))
			return nil
		}
	}, nil)

	// A plain route beside the WebSocket one still works.
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/healthz: %d", res.StatusCode)
	}

	cl := dial(t, addr, &wstest.DialOptions{Path: "/ws?room=7", Header: http.Header{
		"Sec-WebSocket-Protocol": {"chat.v1, chat.v2"}, "X-Team": {"blue"},
	}})
	if got := cl.Response.Header.Get("Sec-WebSocket-Protocol"); got != "chat.v2" {
		t.Errorf("subprotocol %q, want chat.v2", got)
	}
	c := rec.nextOpen(t)
	for _, tc := range []struct {
		name, got, want string
	}{
		{"Path", c.Path(), "/ws"},
		{"RawQuery", c.RawQuery(), "room=7"},
		{"Protocol", c.Protocol(), "chat.v2"},
		{"Header", c.Header("x-team"), "blue"},
		{"Value", c.Value().(string), "from hook blue"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	for i, msg := range []string{"hello", strings.Repeat("x", 70000), "again"} {
		if err := cl.WriteText(msg); err != nil {
			t.Fatal(err)
		}
		op, p, err := cl.ReadMessage(5 * time.Second)
		if err != nil || op != ws.OpText || string(p) != msg {
			t.Fatalf("message %d: op %v, %d bytes, err %v", i, op, len(p), err)
		}
	}
	st := srv.Stats()
	if st.Accepted != 1 || st.Open != 1 {
		t.Errorf("Stats: Accepted %d Open %d, want 1 and 1", st.Accepted, st.Open)
	}
	_ = cl.WriteClose(1000, "bye")
	if ce := rec.nextClose(t); ce.Code != 1000 || !ce.Remote {
		t.Errorf("close %+v", ce)
	}
	waitFor(t, "Open back to 0", func() bool { return srv.Stats().Open == 0 })
}

// A handler that authenticated the request hands the user over as preset.
func TestNetHTTPPresetValue(t *testing.T) {
	rec := newRecorder()
	srv, _ := startServer(t, rec, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if err := srv.UpgradeHTTP(w, r, &UpgradeResponse{Value: r.URL.Query().Get("user"), Header: []codec.HeaderField{{Name: "X-Hello", Value: "1"}}}); err != nil {
			t.Errorf("UpgradeHTTP: %v", err)
		}
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	cl := dial(t, strings.TrimPrefix(hs.URL, "http://"), &wstest.DialOptions{Path: "/ws?user=ann"})
	if cl.Response.Header.Get("X-Hello") != "1" {
		t.Errorf("extra header missing: %v", cl.Response.Header)
	}
	if v := rec.nextOpen(t).Value(); v != "ann" {
		t.Errorf("Value %v, want ann", v)
	}
}

func TestNetHTTPRefusals(t *testing.T) {
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer ok" {
				http.Error(w, "who are you", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	rec := newRecorder()
	srv, addr := startMounted(t, rec, func(c *Config) {
		c.Upgrade = func(r *UpgradeRequest, resp *UpgradeResponse) error {
			if r.Header("X-Ban") != nil {
				return &HTTPError{Status: 403, Body: "banned\n"}
			}
			return nil
		}
	}, auth)
	ok := http.Header{"Authorization": {"Bearer ok"}}
	with := func(extra http.Header) http.Header {
		h := ok.Clone()
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
		body   string
	}{
		{"middleware 401", nil, 401, "who are you"},
		{"hook 403", with(http.Header{"X-Ban": {"1"}}), 403, "banned"},
		{"foreign origin 403", with(http.Header{"Origin": {"https://evil.example"}}), 403, "origin not allowed"},
		{"bad version 426", with(http.Header{"Sec-Websocket-Version": {"8"}}), 426, "unsupported Sec-WebSocket-Version"},
		{"accepted", ok, 101, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := wstest.Dial(addr, &wstest.DialOptions{Path: "/ws", Header: tc.header})
			if tc.status == 101 {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				_ = cl.Close()
				return
			}
			var he *wstest.HandshakeError
			if !errors.As(err, &he) {
				t.Fatalf("dial: %v, want a %d", err, tc.status)
			}
			if he.Status != tc.status || !strings.Contains(he.Body, tc.body) {
				t.Errorf("got %d %q, want %d %q", he.Status, he.Body, tc.status, tc.body)
			}
		})
	}
	// A plain GET to the WebSocket path: 426 with Upgrade: websocket.
	req, _ := http.NewRequest("GET", "http://"+addr+"/ws", nil)
	req.Header = ok.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 426 || res.Header.Get("Upgrade") != "websocket" {
		t.Errorf("plain GET: %d, Upgrade %q", res.StatusCode, res.Header.Get("Upgrade"))
	}
	rec.nextOpen(t) // the accepted one
	if st := srv.Stats(); st.Accepted != 1 {
		t.Errorf("Accepted %d, want 1", st.Accepted)
	}
	waitFor(t, "refused handshakes uncounted in Open", func() bool { return srv.Stats().Open == 0 })
	for reason, want := range map[rejectReason]uint64{rejectHook: 1, rejectOrigin: 1, rejectInvalid: 1, rejectNotUpgrade: 1} {
		if got := srv.mount.stats.rejects[reason].Load(); got != want {
			t.Errorf("rejects[%s] = %d, want %d", reason, got, want)
		}
	}
}

// Frames the client sends right behind its request (in the same write, so
// net/http may read them with the head) reach OnMessage, in order, however
// the first write cuts them.
func TestNetHTTPFramesBehindHead(t *testing.T) {
	text := func(s string) []byte { return wstest.EncodeFrame(ws.OpText, true, 0, true, []byte(s)) }
	frames := bytes.Join([][]byte{
		text("one"),
		wstest.EncodeFrame(ws.OpText, false, 0, true, []byte("tw")),
		wstest.EncodeFrame(ws.OpContinuation, true, 0, true, []byte("o")),
		wstest.EncodeFrame(ws.OpPing, true, 0, true, []byte("are you there")),
		text(strings.Repeat("3", 300)),
		text("four"),
	}, nil)
	ping := len(text("one")) + len(wstest.EncodeFrame(ws.OpText, false, 0, true, []byte("tw"))) + len(wstest.EncodeFrame(ws.OpContinuation, true, 0, true, []byte("o")))
	rec := newRecorder()
	_, addr := startMounted(t, rec, nil, nil)
	head := strings.Replace(upgradeRequest, "GET /chat?room=1", "GET /ws", 1)
	for _, tc := range []struct {
		name string
		cut  int // bytes of frames sent with the head; the rest follows 50ms later
	}{
		{"all", len(frames)},
		{"none", 0},
		{"one byte of a header", 1},
		{"inside the ping header", ping + 1},
		{"inside the ping payload", ping + 5},
		{"inside a data frame", ping + 15 + 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := dialRaw(t, addr)
			if err := cl.WriteRaw(append([]byte(head), frames[:tc.cut]...)); err != nil {
				t.Fatal(err)
			}
			if tc.cut < len(frames) {
				time.Sleep(50 * time.Millisecond)
				if err := cl.WriteRaw(frames[tc.cut:]); err != nil {
					t.Fatal(err)
				}
			}
			res, _, err := cl.ReadHTTPResponse(5 * time.Second)
			if err != nil || res.StatusCode != 101 {
				t.Fatalf("response %v, %v", res, err)
			}
			rec.nextOpen(t)
			want := []string{"one", "two", "are you there", strings.Repeat("3", 300), "four"}
			for i, w := range want {
				f, err := cl.ReadFrame(5 * time.Second)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if string(f.Payload) != w {
					t.Fatalf("frame %d: %v %q, want %q", i, f.Op, f.Payload, w)
				}
				if w == "are you there" && f.Op != ws.OpPong {
					t.Fatalf("frame %d: %v, want a pong", i, f.Op)
				}
			}
		})
	}
}

func TestNetHTTPCloseAndHeartbeat(t *testing.T) {
	rec := newRecorder()
	rec.noEcho = true
	_, addr := startMounted(t, rec, func(c *Config) {
		c.PingInterval = 100 * time.Millisecond
		c.PongTimeout = 200 * time.Millisecond
	}, nil)

	// The server pings a quiet adopted connection and closes it when no
	// pong comes.
	quiet := dial(t, addr, &wstest.DialOptions{Path: "/ws"})
	rec.nextOpen(t)
	f, err := quiet.ReadFrame(2 * time.Second)
	if err != nil || f.Op != ws.OpPing {
		t.Fatalf("want a ping, got %v %v", f.Op, err)
	}
	if ce := rec.nextClose(t); !errors.Is(ce, ErrPongTimeout) {
		t.Errorf("quiet connection closed with %v, want ErrPongTimeout", ce)
	}

	// A server-side Close runs the close handshake.
	cl := dial(t, addr, &wstest.DialOptions{Path: "/ws"})
	c := rec.nextOpen(t)
	if err := c.Close(codec.CloseNormal, "done"); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := cl.ReadFrame(2 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if f.Op == ws.OpClose {
			break // pings may come first
		}
	}
	_ = cl.WriteClose(1000, "")
	if ce := rec.nextClose(t); ce.Code != 1000 || ce.Remote || ce.Reason != "done" {
		t.Errorf("close %+v", ce)
	}
	if err := cl.ExpectEOF(2 * time.Second); err != nil {
		t.Error(err)
	}
}

func TestNetHTTPManyHandshakes(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	rec := newRecorder()
	rec.opens = make(chan *Conn, n)
	rec.closes = make(chan *CloseError, n)
	srv, addr := startMounted(t, rec, func(c *Config) { c.MaxHandshakesPerSecond = 0 }, nil)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	clients := make(chan *wstest.Client, n)
	for range n {
		wg.Go(func() {
			cl, err := wstest.Dial(addr, &wstest.DialOptions{Path: "/ws", Timeout: 20 * time.Second})
			if err != nil {
				errs <- err
				return
			}
			if err := cl.WriteText("hi"); err != nil {
				errs <- err
			} else if _, p, err := cl.ReadMessage(20 * time.Second); err != nil || string(p) != "hi" {
				errs <- errors.Join(err, errors.New("echo "+string(p)))
			}
			clients <- cl
		})
	}
	wg.Wait()
	close(errs)
	close(clients)
	for err := range errs {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Accepted != uint64(n) || st.Open != int64(n) {
		t.Errorf("Accepted %d Open %d, want %d", st.Accepted, st.Open, n)
	}
	for cl := range clients {
		_ = cl.Close()
	}
	waitFor(t, "all closed", func() bool { return srv.Stats().Open == 0 })
}

func TestNetHTTPCeiling(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tweak  func(*Config)
		status int
	}{
		{"MaxConnections", func(c *Config) { c.MaxConnections = 3 }, 503},
		{"MaxConnsPerIP", func(c *Config) { c.MaxConnsPerIP = 3 }, 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			srv, addr := startMounted(t, rec, tc.tweak, nil)
			var held []*wstest.Client
			for range 3 {
				held = append(held, dial(t, addr, &wstest.DialOptions{Path: "/ws"}))
			}
			_, err := wstest.Dial(addr, &wstest.DialOptions{Path: "/ws"})
			var he *wstest.HandshakeError
			if !errors.As(err, &he) || he.Status != tc.status {
				t.Fatalf("4th dial: %v, want %d", err, tc.status)
			}
			if st := srv.Stats(); st.Open != 3 {
				t.Errorf("Open %d, want 3", st.Open)
			}
			_ = held[0].Close()
			waitFor(t, "a slot", func() bool { return srv.Stats().Open == 2 })
			dial(t, addr, &wstest.DialOptions{Path: "/ws"})
		})
	}
}

// What cannot be handed over is refused with a clear error.
func TestNetHTTPCannotHandOver(t *testing.T) {
	srv, _ := startServer(t, newRecorder(), nil)
	upgrade := func() *http.Request {
		r := httptest.NewRequest("GET", "http://example.com/ws", nil)
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		r.Header.Set("Sec-WebSocket-Version", "13")
		return r
	}
	tlsReq := upgrade()
	tlsReq.TLS = &tls.ConnectionState{}
	for _, tc := range []struct {
		name   string
		req    *http.Request
		err    error
		status int
	}{
		{"TLS", tlsReq, ErrTLSHandoff, 500},
		{"no Hijacker", upgrade(), ErrNotHijackable, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			err := srv.UpgradeHTTP(w, tc.req, nil)
			if !errors.Is(err, tc.err) || w.Code != tc.status {
				t.Errorf("got %v, %d; want %v, %d", err, w.Code, tc.err, tc.status)
			}
		})
	}
	waitFor(t, "nothing left open", func() bool { return srv.Stats().Open == 0 })

	// Before Run, or after the server stopped: 503.
	idle, err := New(DefaultConfig("127.0.0.1:0"), newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := idle.UpgradeHTTP(w, upgrade(), nil); !errors.Is(err, ErrServerClosed) || w.Code != 503 {
		t.Errorf("not running: %v, %d", err, w.Code)
	}
}

func TestTailNeed(t *testing.T) {
	masked := func(op ws.OpCode, n int) []byte { return wstest.EncodeFrame(op, true, 0, true, make([]byte, n)) }
	ping, text, big := masked(ws.OpPing, 20), masked(ws.OpText, 10), masked(ws.OpBinary, 70000)
	for _, tc := range []struct {
		name string
		p    []byte
		want int
	}{
		{"empty", nil, 0},
		{"whole frames", append(append([]byte{}, text...), ping...), 0},
		{"one byte", ping[:1], 1},
		{"two bytes of a masked header", ping[:2], 4},
		{"partial ping payload", ping[:10], 16},
		{"partial data frame", text[:8], 0},
		{"data frame header only", big[:14], 0},
		{"partial 64-bit length", big[:5], 9},
		{"after whole frames", append(append([]byte{}, text...), ping[:3]...), 3},
		{"bad opcode", []byte{0x83, 0x80}, 0},
	} {
		if got := tailNeed(tc.p); got != tc.want {
			t.Errorf("%s: tailNeed = %d, want %d", tc.name, got, tc.want)
		}
	}
}
