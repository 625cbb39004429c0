// Command gorilla is the benchmark's gorilla/websocket server: net/http, one
// goroutine per connection reading, writes under a per-connection mutex
// (gorilla allows one writer at a time). Settings from gorilla's docs for
// many connections: default 4 KiB buffers with a shared WriteBufferPool,
// no compression. gorilla has no built-in heartbeat, so none runs. Its read
// limit is off by default; -max-message N sets it (SetReadLimit).
//
// -tls-cert and -tls-key serve wss:// instead (package tlsflag): crypto/tls
// with its defaults.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/tlsflag"
)

type conn struct {
	ws *websocket.Conn
	mu sync.Mutex // one writer at a time
}

var (
	mu    sync.RWMutex
	conns = map[*conn]struct{}{}
)

// maxMessage is -max-message: the read limit, 0 for gorilla's default (none).
var maxMessage int64

var upgrader = websocket.Upgrader{
	WriteBufferPool: &sync.Pool{},
	CheckOrigin:     func(*http.Request) bool { return true },
}

func serve(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	if maxMessage > 0 {
		ws.SetReadLimit(maxMessage)
	}
	c := &conn{ws: ws}
	mu.Lock()
	conns[c] = struct{}{}
	mu.Unlock()
	ctl.Conns.Add(1)
	defer func() {
		mu.Lock()
		delete(conns, c)
		mu.Unlock()
		ctl.Conns.Add(-1)
		ws.Close()
	}()
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if ctl.Broadcast(data) {
			broadcast(data)
			continue
		}
		c.mu.Lock()
		err = ws.WriteMessage(typ, data)
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// broadcast encodes once (PreparedMessage) and writes to every connection,
// the connections split over one goroutine per CPU.
func broadcast(data []byte) {
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, data)
	if err != nil {
		return
	}
	mu.RLock()
	list := make([]*conn, 0, len(conns))
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
				c := list[i]
				c.mu.Lock()
				_ = c.ws.WritePreparedMessage(pm)
				c.mu.Unlock()
			}
		}(s)
	}
	wg.Wait()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9002", "listen address (loopback)")
	flag.Int64Var(&maxMessage, "max-message", 0, "largest message in bytes (0: gorilla's default, no limit)")
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
