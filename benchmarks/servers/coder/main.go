// Command coder is the benchmark's coder/websocket server: net/http, one
// goroutine per connection reading with Conn.Read, Write is safe for
// concurrent use. Compression disabled. coder/websocket has no automatic
// heartbeat (Conn.Ping needs a goroutine of your own), so none runs. Its
// read limit is 32 KiB by default; -max-message N sets it (SetReadLimit).
//
// -tls-cert and -tls-key serve wss:// instead (package tlsflag): crypto/tls
// with its defaults.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sync"

	"github.com/coder/websocket"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/tlsflag"
)

var (
	mu    sync.RWMutex
	conns = map[*websocket.Conn]struct{}{}
)

var opts = &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled}

// maxMessage is -max-message: the read limit, 0 for coder's default.
var maxMessage int64

func serve(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return
	}
	if maxMessage > 0 {
		c.SetReadLimit(maxMessage)
	}
	mu.Lock()
	conns[c] = struct{}{}
	mu.Unlock()
	ctl.Conns.Add(1)
	defer func() {
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
		ctl.Conns.Add(-1)
		c.CloseNow()
	}()
	ctx := context.Background()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if ctl.Broadcast(data) {
			broadcast(ctx, data)
			continue
		}
		if err := c.Write(ctx, typ, data); err != nil {
			return
		}
	}
}

// broadcast writes to every connection, split over one goroutine per CPU.
func broadcast(ctx context.Context, data []byte) {
	mu.RLock()
	list := make([]*websocket.Conn, 0, len(conns))
	for c := range conns {
		list = append(list, c)
	}
	mu.RUnlock()
	shards := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for s := 0; s < shards; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for i := s; i < len(list); i += shards {
				_ = list[i].Write(ctx, websocket.MessageBinary, data)
			}
		}(s)
	}
	wg.Wait()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9005", "listen address (loopback)")
	flag.Int64Var(&maxMessage, "max-message", 0, "largest message in bytes (0: coder's default, 32 KiB)")
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
