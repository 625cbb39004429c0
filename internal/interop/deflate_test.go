package interop_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// TestDeflateInterop reproduces what Autobahn|Testsuite's cases 12.* and
// 13.* check (permessage-deflate, RFC 7692), which cannot run here, with two
// clients that implement RFC 7692: Python websockets (zlib) and Node ws
// (Node's zlib). For every library, server mode and client_max_window_bits
// from 9 to 15, one client process (testdata/deflate_websockets.py,
// testdata/deflate_ws.mjs) offers that window and, for every size from 16 B
// to 256 KiB, echoes a text, a compressible binary and (up to 16 KiB) a
// random binary message, whole and fragmented (compressed fragments, a ping
// between each two; 256 KiB: text fragmented, binary whole), checking
// every echo byte for byte. The modes:
//
//   - nct: the server's policy is DeflateNoContextTakeover;
//   - ct: DeflateContextTakeover, the server's windows at the client's bits
//     (so its history and its limit on the client's window are both 2^bits);
//   - ct-client-nct: DeflateContextTakeover, the client asks for
//     client_no_context_takeover and server_no_context_takeover.
//
// The server is an engine in this process (examples/echo has no
// compression flag), so under -race the matrix is race-checked too. Its
// DeflateThreshold is 1, so even the 16 B messages go back compressed.
func TestDeflateInterop(t *testing.T) {
	libs := []struct {
		name, script string
		runner       func() ([]string, string)
	}{
		{"python-websockets", "deflate_websockets.py", func() ([]string, string) {
			if !pythonHas("websockets") {
				return nil, "python3-websockets not installed (Debian; /usr/bin/python3 -c 'import websockets' failed): make test installs it"
			}
			return []string{debianPython}, ""
		}},
		{"node-ws", "deflate_ws.mjs", func() ([]string, string) {
			node, skip := nodeWith("ws")
			return []string{node}, skip
		}},
	}
	all, ends := []int{9, 10, 11, 12, 13, 14, 15}, []int{9, 15}
	modes := []struct {
		name      string
		mode      codec.DeflateMode
		clientNCT bool
		bits      []int
	}{
		{"nct", codec.DeflateNoContextTakeover, false, all},
		{"ct", codec.DeflateContextTakeover, false, all},
		// Neither side keeps history: the window only bounds the client's
		// compressor, so its two ends suffice (and keep the package fast).
		{"ct-client-nct", codec.DeflateContextTakeover, true, ends},
		// The client also asks for server_max_window_bits=bits (Autobahn
		// 13.3-13.6): the server compresses each message alone within
		// that window, and the client's zlib inflates with it.
		{"ct-server-bits", codec.DeflateContextTakeover, false, all},
	}
	for _, lib := range libs {
		t.Run(lib.name, func(t *testing.T) {
			runner, skip := lib.runner()
			if skip != "" {
				t.Skip(skip)
			}
			for _, m := range modes {
				for _, bits := range m.bits {
					t.Run(fmt.Sprintf("%s/bits=%d", m.name, bits), func(t *testing.T) {
						t.Parallel()
						srv, url := startDeflateEcho(t, codec.DeflatePolicy{
							Mode: m.mode, ServerMaxWindowBits: bits, ClientMaxWindowBits: bits,
						})
						nct := "-"
						switch {
						case m.clientNCT:
							nct = "client-nct"
						case strings.HasSuffix(m.name, "server-bits"):
							nct = "server-bits"
						}
						argv := append(append([]string(nil), runner...), lib.script, url, strconv.Itoa(bits), nct)
						out := runClient(t, 90*time.Second, argv, lib.script)
						checkDeflateRun(t, out, m.mode, nct, bits)
						st := srv.Stats().Deflate
						if st.Inflated == 0 || st.Deflated == 0 {
							t.Errorf("the server inflated %d and deflated %d messages: compression was not used both ways", st.Inflated, st.Deflated)
						}
						if t.Failed() {
							t.Logf("%s output:\n%s", lib.script, out)
						}
					})
				}
			}
		})
	}
}

// deflateCases is what every deflate client run must pass: the 7 sizes from
// 16 B to 64 KiB × text and binary × whole and fragmented, the 6 up to
// 16 KiB × random × whole and fragmented, and 256 KiB text fragmented and
// binary whole.
const deflateCases = 7*2*2 + 6*2 + 2

var extLine = regexp.MustCompile(`(?m)^EXT (.*)$`)

// checkDeflateRun checks a client's output: every case passed, and the
// negotiated extension is what the server's policy answers to the offer.
func checkDeflateRun(t *testing.T, out string, mode codec.DeflateMode, offer string, bits int) {
	t.Helper()
	clientNCT := offer == "client-nct"
	if !regexp.MustCompile(`(?m)^ALL PASS ` + strconv.Itoa(deflateCases) + `$`).MatchString(out) {
		t.Errorf("no ALL PASS %d line", deflateCases)
	}
	m := extLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no EXT line")
	}
	params := map[string]string{}
	for i, p := range strings.Split(m[1], ";") {
		p = strings.TrimSpace(p)
		if i == 0 {
			if p != "permessage-deflate" {
				t.Fatalf("negotiated %q, not permessage-deflate", m[1])
			}
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		params[k] = v
	}
	want := map[string]string{}
	switch {
	case mode == codec.DeflateNoContextTakeover:
		want["server_no_context_takeover"] = ""
		want["client_no_context_takeover"] = ""
	case clientNCT:
		want["server_no_context_takeover"] = ""
		want["client_no_context_takeover"] = ""
		want["client_max_window_bits"] = strconv.Itoa(bits)
	case offer == "server-bits":
		want["server_max_window_bits"] = strconv.Itoa(bits)
		want["client_max_window_bits"] = strconv.Itoa(bits)
		if bits < 15 {
			want["server_no_context_takeover"] = ""
		}
	default:
		want["client_max_window_bits"] = strconv.Itoa(bits)
	}
	// Under no context takeover the window bits may be answered or not.
	if mode == codec.DeflateNoContextTakeover || clientNCT {
		if v, ok := params["client_max_window_bits"]; ok && v != strconv.Itoa(bits) {
			t.Errorf("negotiated %q: client_max_window_bits=%s, offered %d", m[1], v, bits)
		}
		delete(params, "client_max_window_bits")
		delete(want, "client_max_window_bits")
	}
	if fmt.Sprint(params) != fmt.Sprint(want) {
		t.Errorf("negotiated %q, want the parameters %v", m[1], want)
	}
}

// startDeflateEcho runs an echo engine with policy in this process and
// returns it and its URL; it stops when t ends.
func startDeflateEcho(t *testing.T, policy codec.DeflatePolicy) (*engine.Server, string) {
	t.Helper()
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = 1
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.MaxMessagesPerSecond, cfg.MaxBytesPerSecond = 0, 0
	cfg.Deflate = policy
	cfg.DeflateThreshold = 1
	srv, err := engine.New(cfg, engine.Handlers{
		Message: func(c *engine.Conn, typ engine.MessageType, data []byte) {
			_ = c.WriteMessage(typ, data)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	addr := srv.Addr()
	if addr == "" {
		cancel()
		t.Fatalf("server did not start: %v", <-errc)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop within 15s")
		}
	})
	return srv, "ws://" + addr + "/"
}
