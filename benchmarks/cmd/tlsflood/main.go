// Command tlsflood measures how a flood of TLS handshakes affects
// connections already established: E connections echo small messages one
// at a time (round-trip latency recorded) while F goroutines open wss://
// connections as fast as they can (full handshake, upgrade, close). The
// server runs in this process; the clients in a child process.
//
//	go run ./cmd/tlsflood -echo 100 -flood 16 -d 10s
//	go run ./cmd/tlsflood -rsa            # RSA-2048 certificate instead of ECDSA P-256
//	go run ./cmd/tlsflood -server nethttp # net/http + crypto/tls + gorilla, the reference
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
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/netref"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

func main() {
	role := flag.String("role", "server", "server or client (child process)")
	addr := flag.String("addr", "", "client: server address")
	ca := flag.String("ca", "", "client: CA file")
	echoN := flag.Int("echo", 100, "established connections echoing")
	flood := flag.Int("flood", 16, "goroutines opening connections in a loop")
	d := flag.Duration("d", 10*time.Second, "duration of each phase")
	useRSA := flag.Bool("rsa", false, "RSA-2048 certificate (default ECDSA P-256)")
	workers := flag.Int("workers", 0, "server: TLSHandshakeWorkers (0: default)")
	which := flag.String("server", "switchboard", "server: switchboard, or nethttp (net/http + crypto/tls + gorilla/websocket)")
	flag.Parse()
	if *role == "client" {
		client(*addr, *ca, *echoN, *flood, *d)
		return
	}
	var cert *tlstest.Cert
	var err error
	if *useRSA {
		cert, err = tlstest.NewRSA("localhost", "127.0.0.1")
	} else {
		cert, err = tlstest.New("localhost", "127.0.0.1")
	}
	if err != nil {
		log.Fatal(err)
	}
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.TLS = cert.ServerConfig()
	cfg.TLSHandshakeWorkers = *workers
	cfg.MaxHandshakesPerSecond = 0
	cfg.MaxMessagesPerSecond, cfg.MaxBytesPerSecond = 0, 0
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	var srvAddr string
	report := func() string { return "" }
	if *which == "nethttp" {
		var stop func()
		srvAddr, stop = netref.Start(cfg.TLS)
		defer stop()
	} else {
		srv, err := engine.New(cfg, echo{})
		if err != nil {
			log.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { _ = srv.Run(ctx) }()
		srvAddr = srv.Addr()
		report = func() string {
			st := srv.Stats().TLS
			return fmt.Sprintf(", handshakes completed %d, failed %d, workers %d", st.HandshakesCompleted, st.HandshakesFailed, *workers)
		}
	}
	dir, _ := os.MkdirTemp("", "tlsflood")
	defer os.RemoveAll(dir)
	caFile := filepath.Join(dir, "ca.pem")
	_ = os.WriteFile(caFile, cert.CertPEM, 0o600)
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "-role", "client", "-addr", srvAddr, "-ca", caFile,
		"-echo", strconv.Itoa(*echoN), "-flood", strconv.Itoa(*flood), "-d", d.String())
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		fmt.Println(sc.Text())
	}
	_ = cmd.Wait()
	kind := "ECDSA P-256"
	if *useRSA {
		kind = "RSA-2048"
	}
	fmt.Printf("server: %s, %s certificate%s\n", *which, kind, report())
}

type echo struct{}

func (echo) OnOpen(*engine.Conn)                                      {}
func (echo) OnMessage(c *engine.Conn, t engine.MessageType, p []byte) { _ = c.WriteMessage(t, p) }
func (echo) OnClose(*engine.Conn, error)                              {}

func client(addr, caFile string, echoN, flood int, d time.Duration) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tcfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	opts := &wstest.DialOptions{TLS: tcfg, Timeout: 30 * time.Second}
	conns := make([]*wstest.Client, echoN)
	for i := range conns {
		c, err := wstest.Dial(addr, opts)
		if err != nil {
			log.Fatal(err)
		}
		conns[i] = c
	}
	phase := func(name string, flooding bool) {
		var stop atomic.Bool
		var handshakes atomic.Int64
		var wg sync.WaitGroup
		if flooding {
			for i := 0; i < flood; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						c, err := wstest.Dial(addr, opts)
						if err == nil {
							handshakes.Add(1)
							_ = c.Close()
						}
					}
				}()
			}
		}
		var mu sync.Mutex
		var rtts []time.Duration
		deadline := time.Now().Add(d)
		var ew sync.WaitGroup
		for _, c := range conns {
			ew.Add(1)
			go func() {
				defer ew.Done()
				var local []time.Duration
				for time.Now().Before(deadline) {
					t0 := time.Now()
					if err := c.WriteText("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"); err != nil {
						return
					}
					if _, _, err := c.ReadMessage(30 * time.Second); err != nil {
						return
					}
					local = append(local, time.Since(t0))
					time.Sleep(10 * time.Millisecond) // ~100 messages/s per connection
				}
				mu.Lock()
				rtts = append(rtts, local...)
				mu.Unlock()
			}()
		}
		ew.Wait()
		stop.Store(true)
		wg.Wait()
		slices.Sort(rtts)
		q := func(p float64) time.Duration {
			if len(rtts) == 0 {
				return 0
			}
			return rtts[int(p*float64(len(rtts)-1))]
		}
		fmt.Printf("%-16s echo RTT over %d conns: n=%d p50=%v p99=%v max=%v; handshakes/s=%.0f\n",
			name, echoN, len(rtts), q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond),
			q(1).Round(time.Microsecond), float64(handshakes.Load())/d.Seconds())
	}
	phase("quiet", false)
	phase("handshake flood", true)
	for _, c := range conns {
		_ = c.Close()
	}
}
