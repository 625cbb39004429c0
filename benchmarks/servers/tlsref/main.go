// Command tlsref is the reference of the TLS handshake job: net/http with
// crypto/tls (package tlsflag, its defaults) and nothing else. It answers a
// WebSocket upgrade by hand (the 101 with Sec-WebSocket-Accept, then it
// reads and discards until the client goes), so a connection costs it what
// a wss:// connection costs net/http and crypto/tls themselves, with no
// WebSocket library's work on top.
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/tlsflag"
)

func serve(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if key == "" {
		http.Error(w, "not a WebSocket upgrade", http.StatusBadRequest)
		return
	}
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	nc, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer nc.Close()
	ctl.Conns.Add(1)
	defer ctl.Conns.Add(-1)
	_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(h[:]) + "\r\n\r\n")
	if rw.Flush() != nil {
		return
	}
	_, _ = io.Copy(io.Discard, bufio.NewReader(nc))
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9006", "listen address (loopback)")
	tlsFlags := tlsflag.Register()
	flag.Parse()
	ln, err := tlsFlags.Listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctl.Ready(ln.Addr().String())
	if err := http.Serve(ln, http.HandlerFunc(serve)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
