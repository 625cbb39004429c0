// Command tlsidle measures what an idle wss:// connection costs the
// switchboard engine: it serves N connections (clients in a child
// process, offering Go's default key shares, X25519MLKEM768 included),
// each sends one message and reads its echo, then all sit idle, and it
// reports the server's RSS and Go heap per connection.
//
//	go run ./cmd/tlsidle -n 10000            # TLS 1.3 (AES-128-GCM)
//	go run ./cmd/tlsidle -n 10000 -tls=false # ws://, the floor, same harness
//	go run ./cmd/tlsidle -n 3000 -version 1.2
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

func main() {
	role := flag.String("role", "server", "server (measures) or client (child process)")
	n := flag.Int("n", 3000, "connections")
	useTLS := flag.Bool("tls", true, "wss:// (false: ws://)")
	version := flag.String("version", "1.3", "TLS version the clients insist on: 1.3 or 1.2")
	addr := flag.String("addr", "", "client: server address")
	ca := flag.String("ca", "", "client: CA certificate file")
	size := flag.Int("size", 100, "message size each way")
	loops := flag.Int("loops", 0, "server: event loops (0: one per CPU)")
	conc := flag.Int("c", 32, "client: concurrent dials")
	idle := flag.Duration("idle", 10*time.Second, "server: how long the connections sit idle before RSS is read")
	memprofile := flag.String("memprofile", "", "server: write a heap profile of the idle connections here")
	flag.Parse()
	if *role == "client" {
		client(*addr, *ca, *n, *version, *size, *conc)
		return
	}
	server(*n, *useTLS, *version, *size, *loops, *conc, *idle, *memprofile)
}

type echo struct{}

func (echo) OnOpen(*engine.Conn) {}
func (echo) OnMessage(c *engine.Conn, typ engine.MessageType, p []byte) {
	_ = c.WriteMessage(typ, p)
}
func (echo) OnClose(*engine.Conn, error) {}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func server(n int, useTLS bool, version string, size, loops, conc int, idle time.Duration, memprofile string) {
	if memprofile != "" {
		runtime.MemProfileRate = 1
	}
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.EventLoops = loops
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.PingInterval = 0 // idle means idle: no heartbeat traffic during the measurement
	// As the benchmark harness's switchboard server: no inbound rate limits
	// (with them on, the first message allocates the bucket state, 96 B).
	cfg.MaxMessagesPerSecond, cfg.MaxBytesPerSecond = 0, 0
	cfg.HandshakeTimeout = time.Minute
	var caFile string
	if useTLS {
		cert, err := tlstest.New("localhost", "127.0.0.1")
		if err != nil {
			log.Fatal(err)
		}
		cfg.TLS = cert.ServerConfig()
		dir, err := os.MkdirTemp("", "tlsidle")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		caFile = filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(caFile, cert.CertPEM, 0o600); err != nil {
			log.Fatal(err)
		}
	}
	srv, err := engine.New(cfg, echo{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = srv.Run(ctx) }()
	addr := srv.Addr()

	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-role", "client", "-addr", addr, "-ca", caFile, "-n", strconv.Itoa(n),
		"-version", version, "-size", strconv.Itoa(size), "-c", strconv.Itoa(conc))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	stdin, _ := cmd.StdinPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	// The client first opens and closes a few hundred connections, so the
	// baseline includes what every server keeps once it has served any
	// (the loops, their scratch buffers and cipher caches, gnet's tables).
	if !sc.Scan() || sc.Text() != "warm" {
		log.Fatalf("client: %q %v", sc.Text(), sc.Err())
	}
	time.Sleep(500 * time.Millisecond)
	h0 := heap()
	debug.FreeOSMemory()
	time.Sleep(500 * time.Millisecond)
	r0 := rss()
	fmt.Fprintln(stdin, "go")
	start = time.Now()
	if !sc.Scan() || sc.Text() != "ready" {
		log.Fatalf("client: %q %v", sc.Text(), sc.Err())
	}
	setup := time.Since(start)
	open := srv.Stats().Open
	time.Sleep(idle) // let the last handshakes' garbage be collected and scavenged
	r1, h1 := rss(), heap()
	debug.FreeOSMemory()
	time.Sleep(500 * time.Millisecond)
	r2 := rss()
	st := srv.Stats()
	mode := "ws://"
	if useTLS {
		mode = "wss:// TLS " + version
	}
	fmt.Printf("%s, %d connections open (of %d), one %d-byte message each way, set up in %v\n", mode, open, n, size, setup.Round(time.Millisecond))
	fmt.Printf("RSS per idle connection: %.0f B (after FreeOSMemory: %.0f B)\n",
		float64(r1-r0)/float64(n), float64(r2-r0)/float64(n))
	fmt.Printf("Go heap per idle connection (after GC): %.0f B\n", float64(int64(h1)-int64(h0))/float64(n))
	fmt.Printf("RSS baseline %.1f MB, with connections %.1f MB; TLS stats %+v; messages in %d out %d\n",
		float64(r0)/1e6, float64(r1)/1e6, st.TLS, st.MessagesIn, st.MessagesOut)
	if memprofile != "" {
		f, err := os.Create(memprofile)
		if err != nil {
			log.Fatal(err)
		}
		runtime.GC()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	_ = stdin.Close() // the client closes its connections and exits
	_ = cmd.Wait()
	cancel()
}

func client(addr, caFile string, n int, version string, size, conc int) {
	var tcfg *tls.Config
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			log.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tcfg = &tls.Config{RootCAs: pool, ServerName: "localhost"}
		if version == "1.2" {
			tcfg.MaxVersion = tls.VersionTLS12
		} else {
			tcfg.MinVersion = tls.VersionTLS13
		}
	}
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	in := bufio.NewReader(os.Stdin)
	open := func(n int) []*wstest.Client {
		return dialAll(addr, tcfg, msg, n, conc)
	}
	for _, c := range open(min(n, 300)) {
		if c != nil {
			_ = c.Close()
		}
	}
	fmt.Println("warm")
	if _, err := in.ReadString('\n'); err != nil {
		log.Fatal(err)
	}
	conns := open(n)
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, in) // until the server is done measuring
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
}

// dialAll opens n connections, each sending msg and reading its echo.
func dialAll(addr string, tcfg *tls.Config, msg []byte, n, conc int) []*wstest.Client {
	conns := make([]*wstest.Client, n)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				var c *wstest.Client
				var err error
				for try := 0; try < 5; try++ {
					c, err = wstest.Dial(addr, &wstest.DialOptions{TLS: tcfg, Timeout: 30 * time.Second})
					if err == nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				if err := c.WriteText(string(msg)); err != nil {
					failed.Add(1)
					continue
				}
				if _, _, err := c.ReadMessage(30 * time.Second); err != nil {
					failed.Add(1)
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		fmt.Fprintf(os.Stderr, "client: %d connections failed\n", f)
	}
	return conns
}
