package engine

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

func TestEchoTextAndBinary(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, nil)
	c := dial(t, addr, nil)
	for _, tc := range []struct {
		name string
		op   ws.OpCode
		data []byte
	}{
		{"text multibyte", ws.OpText, []byte("héllo wörld ✓ 🚀")},
		{"empty text", ws.OpText, nil},
		{"binary 125", ws.OpBinary, bytes.Repeat([]byte{7}, 125)},
		{"binary 64KiB", ws.OpBinary, bytes.Repeat([]byte{1, 2, 3}, 1<<16/3)},
		{"binary 1MiB", ws.OpBinary, bytes.Repeat([]byte{0xAB}, 1<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.WriteFrame(tc.op, true, tc.data); err != nil {
				t.Fatal(err)
			}
			op, got, err := c.ReadMessage(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if op != tc.op || !bytes.Equal(got, tc.data) {
				t.Fatalf("echo: op %v len %d, want op %v len %d", op, len(got), tc.op, len(tc.data))
			}
		})
	}
}

// RFC 6455 §5.4 and §5.5: control frames may be injected between fragments.
func TestRFC6455_5_4_FragmentedWithPingBetween(t *testing.T) {
	_, addr := startServer(t, newRecorder(), nil)
	c := dial(t, addr, nil)
	steps := []struct {
		op  ws.OpCode
		fin bool
		p   string
	}{
		{ws.OpText, false, "frag"}, {ws.OpPing, true, "are you there"},
		{ws.OpContinuation, false, "ment"}, {ws.OpContinuation, true, "ed ✓"},
	}
	for _, s := range steps {
		if err := c.WriteFrame(s.op, s.fin, []byte(s.p)); err != nil {
			t.Fatal(err)
		}
	}
	f, err := c.ReadFrame(5 * time.Second)
	if err != nil || f.Op != ws.OpPong || string(f.Payload) != "are you there" {
		t.Fatalf("want pong with the ping's payload first, got %+v %v", f, err)
	}
	op, msg, err := c.ReadMessage(5 * time.Second)
	if err != nil || op != ws.OpText || string(msg) != "fragmented ✓" {
		t.Fatalf("got %v %q %v", op, msg, err)
	}
}

// Bytes sent in the same packet as the request head are frames, not lost.
func TestRFC6455_4_1_FramesBehindRequestHead(t *testing.T) {
	_, addr := startServer(t, newRecorder(), nil)
	c := dialRaw(t, addr)
	packet := []byte(upgradeRequest)
	packet = append(packet, wstest.EncodeFrame(ws.OpText, true, 0, true, []byte("first"))...)
	packet = append(packet, wstest.EncodeFrame(ws.OpBinary, true, 0, true, []byte("second"))...)
	if err := c.WriteRaw(packet); err != nil {
		t.Fatal(err)
	}
	resp, _, err := readUpgradeResponse(c)
	if err != nil || resp != 101 {
		t.Fatalf("status %d err %v", resp, err)
	}
	for _, want := range []string{"first", "second"} {
		_, got, err := c.ReadMessage(5 * time.Second)
		if err != nil || string(got) != want {
			t.Fatalf("got %q %v, want %q", got, err, want)
		}
	}
}

// readUpgradeResponse reads the 101 head after a raw request.
func readUpgradeResponse(c *wstest.Client) (int, []byte, error) {
	resp, body, err := c.ReadHTTPResponse(5 * time.Second)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// RFC 6455 §5.5.1: the server echoes the peer's close and closes TCP.
func TestRFC6455_5_5_1_PeerClose(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, nil)
	for _, tc := range []struct {
		name     string
		code     uint16
		reason   string
		wantCode codec.CloseCode
	}{
		{"normal with reason", 1000, "bye ✓", codec.CloseNormal},
		{"no status", 0, "", codec.CloseNoStatus},
		{"application code", 4001, "app", codec.CloseCode(4001)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr, nil)
			rec.nextOpen(t)
			if err := c.WriteClose(tc.code, tc.reason); err != nil {
				t.Fatal(err)
			}
			f, err := c.ReadFrame(5 * time.Second)
			if err != nil || f.Op != ws.OpClose {
				t.Fatalf("want close echo, got %+v %v", f, err)
			}
			if tc.code == 0 && len(f.Payload) != 0 || tc.code != 0 && (len(f.Payload) < 2 || uint16(f.Payload[0])<<8|uint16(f.Payload[1]) != tc.code) {
				t.Fatalf("echoed close payload %x, want code %d", f.Payload, tc.code)
			}
			if err := c.ExpectEOF(5 * time.Second); err != nil {
				t.Fatal(err)
			}
			ce := rec.nextClose(t)
			if ce.Code != tc.wantCode || ce.Reason != tc.reason || !ce.Remote {
				t.Fatalf("OnClose %+v", ce)
			}
		})
	}
}

// A server-initiated close completes when the peer answers.
func TestRFC6455_7_1_ServerClose(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, nil)
	c := dial(t, addr, nil)
	sc := rec.nextOpen(t)
	if err := sc.Close(codec.CloseNormal, "done"); err != nil {
		t.Fatal(err)
	}
	code, reason, err := c.ExpectClose(5 * time.Second)
	if err != nil || code != 1000 || reason != "done" {
		t.Fatalf("got %d %q %v", code, reason, err)
	}
	ce := rec.nextClose(t)
	if ce.Code != codec.CloseNormal || ce.Remote || ce.Err != nil {
		t.Fatalf("OnClose %+v", ce)
	}
	if err := sc.WriteText([]byte("late")); err != ErrClosed {
		t.Fatalf("write after close: %v, want ErrClosed", err)
	}
	if err := sc.Close(codec.CloseNormal, ""); err != ErrClosed {
		t.Fatalf("second close: %v, want ErrClosed", err)
	}
}

// A peer that never answers the server's close is cut at CloseTimeout.
func TestCloseTimeout(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, func(c *Config) { c.CloseTimeout = 300 * time.Millisecond })
	c := dial(t, addr, nil)
	sc := rec.nextOpen(t)
	start := time.Now()
	_ = sc.Close(codec.CloseGoingAway, "bye")
	f, err := c.ReadFrame(5 * time.Second)
	if err != nil || f.Op != ws.OpClose {
		t.Fatalf("want close, got %+v %v", f, err)
	}
	if err := c.ExpectEOF(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("closed after %v, before the close timeout", el)
	}
	ce := rec.nextClose(t)
	if ce.Err != ErrCloseTimeout || ce.Code != codec.CloseGoingAway {
		t.Fatalf("OnClose %+v", ce)
	}
}

// TCP dropped without a close frame reports 1006.
func TestAbruptDisconnect(t *testing.T) {
	rec := newRecorder()
	_, addr := startServer(t, rec, nil)
	c := dial(t, addr, nil)
	rec.nextOpen(t)
	_ = c.Close()
	ce := rec.nextClose(t)
	if ce.Code != codec.CloseAbnormal || !ce.Remote {
		t.Fatalf("OnClose %+v", ce)
	}
}

func TestHandlerPanicClosesWith1011(t *testing.T) {
	rec := newRecorder()
	rec.onMsg = func(c *Conn, typ MessageType, data []byte) {
		if string(data) == "boom" {
			panic("handler bug")
		}
		_ = c.WriteMessage(typ, data)
	}
	_, addr := startServer(t, rec, nil)
	bad := dial(t, addr, nil)
	good := dial(t, addr, nil)
	_ = bad.WriteText("boom")
	code, _, err := bad.ExpectClose(5 * time.Second)
	if err != nil || code != 1011 {
		t.Fatalf("got %d %v, want 1011", code, err)
	}
	_ = good.WriteText("fine")
	if _, got, err := good.ReadMessage(5 * time.Second); err != nil || string(got) != "fine" {
		t.Fatalf("other connection broke: %q %v", got, err)
	}
	if ce := rec.nextClose(t); ce.Code != codec.CloseInternalError || ce.Err != ErrHandlerPanic {
		t.Fatalf("OnClose %+v", ce)
	}
}

func TestMessageDeliveredZeroCopyValidOnlyDuringCall(t *testing.T) {
	// The handler sees the payload in place; copying it is the handler's job.
	rec := newRecorder()
	rec.noEcho = true
	_, addr := startServer(t, rec, nil)
	c := dial(t, addr, nil)
	_ = c.WriteText(strings.Repeat("z", 300))
	select {
	case got := <-rec.msgSeen:
		if string(got) != strings.Repeat("z", 300) {
			t.Fatalf("got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
}
