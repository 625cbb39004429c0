// Command memcmp measures the RSS a WebSocket client process pays per idle
// connection: switchboard's client (event loops) or gorilla/websocket's
// (a reading goroutine per connection, as gorilla's client needs to answer
// pings and see closes). Run the server in another process (the fd limit
// is per process), one implementation per run:
//
//	go run ./examples/echo -addr 127.0.0.1:9301 &
//	cd client/internal/memcmp
//	go run . -impl switchboard -n 10000 -url ws://127.0.0.1:9301/
//	go run . -impl gorilla     -n 10000 -url ws://127.0.0.1:9301/ -src 127.0.0.2
//
// It prints the RSS before and after (after a GC and a settle time), the
// difference per connection, the Go heap in use per connection and the
// goroutine count. A nested module, so the main module does not depend on
// gorilla.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-ws/switchboard/client"
)

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func settle(d time.Duration) {
	time.Sleep(d)
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(time.Second)
}

func main() {
	impl := flag.String("impl", "switchboard", "switchboard or gorilla")
	n := flag.Int("n", 10000, "connections")
	u := flag.String("url", "ws://127.0.0.1:9301/", "server URL")
	src := flag.String("src", "", "source IP (spread ephemeral ports, e.g. 127.0.0.2)")
	conc := flag.Int("c", 64, "handshakes in flight")
	wait := flag.Duration("settle", 5*time.Second, "idle time before measuring")
	loops := flag.Int("loops", 0, "switchboard: event loops (0: GOMAXPROCS)")
	memprof := flag.String("memprofile", "", "write a heap profile here after measuring")
	insecure := flag.Bool("insecure", false, "wss://: accept any certificate (the -serve-tls front's)")
	front := flag.String("serve-tls", "", "run a TLS front on this address instead (with -backend)")
	backend := flag.String("backend", "127.0.0.1:9301", "-serve-tls: the plain server to forward to")
	tls12 := flag.Bool("tls12", false, "-serve-tls: cap at TLS 1.2 (default 1.3)")
	msg := flag.Int("msg", 0, "send one message of this many bytes per connection and wait for its echo before idling")
	echoFor := flag.Duration("echo", 0, "after connecting: every connection echoes messages of -msg bytes back and forth for this long; prints messages/s and client CPU per message")
	flag.Parse()
	if *front != "" {
		v := uint16(tls.VersionTLS13)
		if *tls12 {
			v = tls.VersionTLS12
		}
		fmt.Println(serveTLS(*front, *backend, v))
		return
	}
	var tlsCfg *tls.Config
	if *insecure {
		tlsCfg = &tls.Config{InsecureSkipVerify: true}
	}

	var nd net.Dialer
	if *src != "" {
		nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(*src)}
	}
	var cl *client.Client
	if *impl == "switchboard" {
		var err error
		if cl, err = client.New(client.Config{EventLoops: *loops}); err != nil {
			panic(err)
		}
	}
	settle(time.Second)
	before, heapBefore := rss(), heapInuse()

	var ok, failed, echoed atomic.Int64
	var echoing atomic.Bool
	keep := make([]any, *n) // one slot per connection, written once by its dialler
	sem := make(chan struct{}, *conc)
	var wg sync.WaitGroup
	start := time.Now()
	d := &client.Dialer{Client: cl, NetDialContext: nd.DialContext, TLSConfig: tlsCfg}
	gd := websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 10 * time.Second, TLSClientConfig: tlsCfg}
	payload := make([]byte, *msg)
	// One handler for every connection, as a real program has: the
	// measurement adds nothing per connection.
	shared := client.Handlers{Message: func(c *client.Conn, _ client.MessageType, data []byte) {
		if echoing.Load() {
			echoed.Add(1)
			_ = c.WriteBinary(data) // the next round trip, from the loop
			return
		}
		if ch, ok := c.Value().(chan struct{}); ok {
			ch <- struct{}{}
		}
	}}
	for i := 0; i < *n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			switch *impl {
			case "switchboard":
				c, err := d.Dial(context.Background(), *u, &shared)
				if err != nil {
					failed.Add(1)
					return
				}
				keep[i] = c
				if *msg > 0 {
					got := make(chan struct{}, 1)
					c.SetValue(got)
					_ = c.WriteBinary(payload)
					<-got
					c.SetValue(nil)
				}
			case "gorilla":
				c, _, err := gd.Dial(*u, nil)
				if err != nil {
					failed.Add(1)
					return
				}
				gc := &gorillaConn{c: c}
				keep[i] = gc
				if *msg > 0 {
					_ = gc.write(payload)
					_, _, _ = c.ReadMessage()
				}
				go func() { // gorilla: pings, pongs and closes are seen only by a reader
					for {
						_, data, err := c.ReadMessage()
						if err != nil {
							return
						}
						if echoing.Load() {
							echoed.Add(1)
							_ = gc.write(data)
						}
					}
				}()
			}
			ok.Add(1)
		}(i)
	}
	wg.Wait()
	dialTime := time.Since(start)
	settle(*wait)
	after, heapAfter := rss(), heapInuse()
	k := max(ok.Load(), 1)
	if *echoFor > 0 {
		echoRun(*impl, keep, payload, &echoing, &echoed, *echoFor)
	}
	if *memprof != "" {
		if f, err := os.Create(*memprof); err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}
	fmt.Printf("impl=%s conns=%d failed=%d dial=%v rss_before=%.1fMB rss_after=%.1fMB rss_per_conn=%dB heap+stack_per_conn=%dB goroutines=%d go=%s\n",
		*impl, ok.Load(), failed.Load(), dialTime.Round(time.Millisecond),
		float64(before)/1e6, float64(after)/1e6, (after-before)/k,
		int64(heapAfter-heapBefore)/k, runtime.NumGoroutine(), runtime.Version())
}
