// Command tlshs measures new wss:// connections per second (TCP + TLS
// handshake + WebSocket upgrade, then reset) and the server's CPU time per
// connection, switchboard and net/http + crypto/tls + gorilla/websocket
// side by side in one run: both servers (and both certificates, ECDSA
// P-256 and RSA-2048) live in this process and are flooded in turn,
// interleaved over several rounds, by a client in a child process. The
// server's CPU per connection is this process's rusage over the phase
// (the idle servers cost nothing measurable) divided by the connections
// opened.
//
//	go run ./cmd/tlshs -rounds 3 -d 5s -c 16
//	go run ./cmd/tlshs -only switchboard -key ecdsa -cpuprofile sb.prof
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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/netref"
	sbclient "github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/tlsrec/tlstest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

func main() {
	role := flag.String("role", "server", "server or client (child process)")
	addr := flag.String("addr", "", "client: server address")
	ca := flag.String("ca", "", "client: CA file")
	conc := flag.Int("c", 16, "concurrent clients")
	d := flag.Duration("d", 5*time.Second, "duration of each phase")
	rounds := flag.Int("rounds", 3, "rounds (each floods every server and key once)")
	only := flag.String("only", "", "server: flood only this server (switchboard or nethttp)")
	keys := flag.String("key", "ecdsa,rsa", "certificates: ecdsa, rsa or both")
	resume := flag.Bool("resume", false, "client: TLS session resumption (a session cache per client process)")
	cpuprofile := flag.String("cpuprofile", "", "server: write a CPU profile of the whole run")
	clientprofile := flag.String("clientprofile", "", "write a CPU profile of the client (the last round's)")
	memprofile := flag.String("memprofile", "", "server: write an allocation profile at the end")
	at := flag.Int64("at", 0, "client: start the flood at this Unix time in ns (pair mode: both at once)")
	pkg := flag.Bool("pkg", false, "client: dial with package client (the suite's load generator) instead of crypto/tls directly")
	pin := flag.Bool("pin", false, "server on CPU 0 (GOMAXPROCS 1), clients on CPU 1: the server's rate, not the machine's (needs taskset)")
	quota := flag.Float64("quota", 0, "with -pin: also cap the server at this share of its CPU (a cgroup v1 CFS quota; needs root), so that the server, never the client, sets the rate")
	pair := flag.Bool("pair", false, "run switchboard and net/http at the same time, each in a process of its own with its own clients (same machine load for both)")
	flag.Parse()
	if *role == "client" {
		client(*addr, *ca, *conc, *d, *resume, *at, *pkg, *clientprofile)
		return
	}
	if *pin && os.Getenv("TLSHS_PINNED") == "" {
		repin(*quota)
		return
	}
	if *pair {
		runPairs(*rounds, *keys, *conc, *d, *resume)
		return
	}
	dir, _ := os.MkdirTemp("", "tlshs")
	defer os.RemoveAll(dir)
	type target struct{ name, key, addr, ca string }
	var targets []target
	for _, k := range strings.Split(*keys, ",") {
		var cert *tlstest.Cert
		var err error
		switch k {
		case "ecdsa":
			cert, err = tlstest.New("localhost", "127.0.0.1")
		case "rsa":
			cert, err = tlstest.NewRSA("localhost", "127.0.0.1")
		default:
			log.Fatalf("unknown key %q", k)
		}
		if err != nil {
			log.Fatal(err)
		}
		caFile := filepath.Join(dir, k+".pem")
		_ = os.WriteFile(caFile, cert.CertPEM, 0o600)
		for _, name := range []string{"switchboard", "nethttp"} {
			if *only != "" && *only != name {
				continue
			}
			var a string
			if name == "nethttp" {
				a, _ = netref.Start(cert.ServerConfig())
			} else {
				a = startSwitchboard(cert.ServerConfig())
			}
			targets = append(targets, target{name, k, a, caFile})
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	exe, _ := os.Executable()
	fmt.Printf("GOMAXPROCS %d, %d clients, %v per phase, resumption %v\n", runtime.GOMAXPROCS(0), *conc, *d, *resume)
	type sum struct {
		conns, cpu  float64
		rates, cpus []float64 // per round
	}
	sums := map[string]*sum{}
	for r := 1; r <= *rounds; r++ {
		for i := range targets {
			// alternate the order from round to round
			t := targets[i]
			if r%2 == 0 {
				t = targets[len(targets)-1-i]
			}
			runtime.GC()
			args := []string{"-role", "client", "-addr", t.addr, "-ca", t.ca,
				"-c", strconv.Itoa(*conc), "-d", d.String(), "-resume=" + strconv.FormatBool(*resume),
				"-at", strconv.FormatInt(*at, 10), "-pkg=" + strconv.FormatBool(*pkg), "-clientprofile", *clientprofile}
			cpus := ""
			if *pin {
				cpus = "1"
			}
			cmd := load.PinnedCommand(cpus, exe, args...)
			if *pin && *pkg {
				// package client's loop would hold the only processor
				// while it waits in epoll_wait (see the suite's tls.go)
				cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
			}
			cmd.Stderr = os.Stderr
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				log.Fatal(err)
			}
			if *quota > 0 {
				// out of the server's cgroup (children start in it)
				if err := load.Unquota(cmd.Process.Pid); err != nil {
					log.Fatal(err)
				}
			}
			// The client says "start" after its warm-up, as its flood
			// begins; the server's CPU counts from there.
			sc := bufio.NewScanner(stdout)
			if !sc.Scan() || sc.Text() != "start" {
				log.Fatalf("client: %q", sc.Text())
			}
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			cpu0 := cpuTime()
			sc.Scan()
			out := sc.Text()
			_ = cmd.Wait()
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&m1)
			var n, fails, resumed int64
			var el, ccpu time.Duration
			if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &n, &fails, &resumed, &el, &ccpu); err != nil || n == 0 {
				log.Fatalf("client output %q: %v", out, err)
			}
			rate := float64(n) / el.Seconds()
			per := float64(cpu.Microseconds()) / float64(n)
			cper := float64(ccpu.Microseconds()) / float64(n)
			if *only != "" {
				fmt.Printf("RESULT %s %s %f %f %d\n", t.name, t.key, rate, per, n)
			}
			fmt.Printf("round %d %-11s %-5s %7.0f conn/s  server CPU %6.1f µs/conn  client %6.1f µs/conn  %5.0f allocs %6.0f B/conn  %d GCs  (n=%d fails=%d resumed=%d)\n",
				r, t.name, t.key, rate, per, cper, float64(m1.Mallocs-m0.Mallocs)/float64(n), float64(m1.TotalAlloc-m0.TotalAlloc)/float64(n), m1.NumGC-m0.NumGC, n, fails, resumed)
			k := t.name + " " + t.key
			if sums[k] == nil {
				sums[k] = &sum{}
			}
			sums[k].conns += rate
			sums[k].cpu += per
			sums[k].rates = append(sums[k].rates, rate)
			sums[k].cpus = append(sums[k].cpus, per)
		}
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.Lookup("allocs").WriteTo(f, 0)
		_ = f.Close()
	}
	fmt.Println("mean over rounds:")
	for _, k := range strings.Split(*keys, ",") {
		sb, nh := sums["switchboard "+k], sums["nethttp "+k]
		if sb != nil {
			fmt.Printf("  switchboard %-5s %7.0f conn/s %6.1f µs/conn\n", k, sb.conns/float64(*rounds), sb.cpu/float64(*rounds))
		}
		if nh != nil {
			fmt.Printf("  nethttp     %-5s %7.0f conn/s %6.1f µs/conn\n", k, nh.conns/float64(*rounds), nh.cpu/float64(*rounds))
		}
		if sb != nil && nh != nil {
			fmt.Printf("  ratio       %-5s rate %.3f  CPU %.3f\n", k, sb.conns/nh.conns, sb.cpu/nh.cpu)
			var rr, cr []float64
			for i := range sb.rates {
				rr = append(rr, sb.rates[i]/nh.rates[i])
				cr = append(cr, sb.cpus[i]/nh.cpus[i])
			}
			fmt.Printf("  per round   %-5s rate ratio median %.3f (%.3f–%.3f)  CPU ratio median %.3f (%.3f–%.3f)\n", k,
				median(rr), slices.Min(rr), slices.Max(rr), median(cr), slices.Min(cr), slices.Max(cr))
		}
	}
}

// median of xs (which it sorts).
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// repin runs this program again on CPU 0 only (its clients go to CPU 1),
// capped at quota of that CPU when quota > 0.
func repin(quota float64) {
	exe, _ := os.Executable()
	cmd := load.PinnedCommand("0", exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "TLSHS_PINNED=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	if quota > 0 {
		q, err := load.NewQuota("tlshs", quota)
		if err != nil {
			_ = cmd.Process.Kill()
			log.Fatal(err)
		}
		defer q.Remove()
		if err := q.Add(cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			log.Fatal(err)
		}
	}
	if err := cmd.Wait(); err != nil {
		log.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type echo struct{}

func (echo) OnOpen(*engine.Conn)                                      {}
func (echo) OnMessage(c *engine.Conn, t engine.MessageType, p []byte) { _ = c.WriteMessage(t, p) }
func (echo) OnClose(*engine.Conn, error)                              {}

func startSwitchboard(tcfg *tls.Config) string {
	cfg := engine.DefaultConfig("127.0.0.1:0")
	cfg.TLS = tcfg
	cfg.MaxHandshakesPerSecond = 0
	cfg.MaxMessagesPerSecond, cfg.MaxBytesPerSecond = 0, 0
	// as benchmarks/servers/switchboard: errors only
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := engine.New(cfg, echo{})
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Run(context.Background()) }()
	return srv.Addr()
}

// pkgResumed counts the resumed handshakes of package client's dials.
var pkgResumed atomic.Int64

// client opens connections from conc goroutines for d and prints
// "opened failed resumed elapsed".
func client(addr, caFile string, conc int, d time.Duration, resume bool, at int64, pkg bool, profile string) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tcfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if resume {
		tcfg.ClientSessionCache = tls.NewLRUClientSessionCache(1024)
	}
	opts := &wstest.DialOptions{TLS: tcfg, Timeout: 10 * time.Second}
	dial := func() (bool, error) {
		c, err := wstest.Dial(addr, opts)
		if err != nil {
			return false, err
		}
		tc, ok := c.Conn.(*tls.Conn)
		resumed := ok && tc.ConnectionState().DidResume
		reset(c)
		return resumed, nil
	}
	if pkg {
		cl, err := sbclient.New(sbclient.Config{})
		if err != nil {
			log.Fatal(err)
		}
		// resumptions counted as the suite's generator counts them
		pcfg := tcfg.Clone()
		pcfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if cs.DidResume {
				pkgResumed.Add(1)
			}
			return nil
		}
		dr := &sbclient.Dialer{Client: cl, TLSConfig: pcfg, HandshakeTimeout: 10 * time.Second}
		h := &sbclient.Handlers{}
		dial = func() (bool, error) {
			c, err := dr.Dial(context.Background(), "wss://"+addr+"/", h)
			if err != nil {
				return false, err
			}
			_ = c.Abort()
			return false, nil
		}
	}
	// warm-up, not counted
	for i := 0; i < conc; i++ {
		_, _ = dial()
	}
	if at > 0 {
		time.Sleep(time.Until(time.Unix(0, at)))
	}
	fmt.Println("start")
	if profile != "" {
		pf, err := os.Create(profile)
		if err != nil {
			log.Fatal(err)
		}
		_ = pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	cpu0 := cpuTime()
	var opened, failed, resumed atomic.Int64
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				r, err := dial()
				if err != nil {
					failed.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if r {
					resumed.Add(1)
				}
				opened.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	// let the server finish closing before its CPU is read
	time.Sleep(100 * time.Millisecond)
	fmt.Println(opened.Load(), failed.Load(), resumed.Load()+pkgResumed.Load(), int64(el), int64(cpuTime()-cpu0))
}

// reset closes c's TCP connection with a reset (no close_notify, no
// TIME_WAIT), as the benchmark suite's load generator does.
func reset(c *wstest.Client) {
	if tc, ok := c.Conn.(*tls.Conn); ok {
		if nc, ok := tc.NetConn().(*net.TCPConn); ok {
			_ = nc.SetLinger(0)
		}
		_ = tc.NetConn().Close()
		return
	}
	_ = c.Close()
}

// runPairs floods switchboard and net/http at the same time, each server
// in a process of its own (this program with -only) with its own client
// process, so that both see the same load from the rest of the machine.
func runPairs(rounds int, keys string, conc int, d time.Duration, resume bool) {
	exe, _ := os.Executable()
	type res struct{ rate, cpu float64 }
	sum := map[string]*res{}
	fmt.Printf("pairs: switchboard and net/http flooded at once, %d clients each, %v per round, resumption %v\n", conc, d, resume)
	for r := 1; r <= rounds; r++ {
		for _, k := range strings.Split(keys, ",") {
			out := make([]string, 2)
			// both floods start at the same moment, after key generation
			// and warm-up
			at := time.Now().Add(4 * time.Second).UnixNano()
			var wg sync.WaitGroup
			for i, name := range []string{"switchboard", "nethttp"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b, err := exec.Command(exe, "-only", name, "-key", k, "-rounds", "1", "-c", strconv.Itoa(conc),
						"-d", d.String(), "-resume="+strconv.FormatBool(resume), "-at", strconv.FormatInt(at, 10)).CombinedOutput()
					if err != nil {
						log.Fatalf("%s: %v\n%s", name, err, b)
					}
					out[i] = string(b)
				}()
			}
			wg.Wait()
			var got [2]res
			for i, o := range out {
				for _, line := range strings.Split(o, "\n") {
					var name, key string
					var n int
					if _, err := fmt.Sscanf(line, "RESULT %s %s %f %f %d", &name, &key, &got[i].rate, &got[i].cpu, &n); err == nil {
						break
					}
				}
			}
			fmt.Printf("round %d %-5s switchboard %6.0f conn/s %7.1f µs/conn | nethttp %6.0f conn/s %7.1f µs/conn | rate ratio %.3f CPU ratio %.3f\n",
				r, k, got[0].rate, got[0].cpu, got[1].rate, got[1].cpu, got[0].rate/got[1].rate, got[0].cpu/got[1].cpu)
			for i, name := range []string{"switchboard", "nethttp"} {
				if sum[name+k] == nil {
					sum[name+k] = &res{}
				}
				sum[name+k].rate += got[i].rate
				sum[name+k].cpu += got[i].cpu
			}
		}
	}
	fmt.Println("mean over rounds:")
	for _, k := range strings.Split(keys, ",") {
		sb, nh := sum["switchboard"+k], sum["nethttp"+k]
		n := float64(rounds)
		fmt.Printf("  %-5s switchboard %6.0f conn/s %7.1f µs/conn | nethttp %6.0f conn/s %7.1f µs/conn | rate ratio %.3f CPU ratio %.3f\n",
			k, sb.rate/n, sb.cpu/n, nh.rate/n, nh.cpu/n, sb.rate/nh.rate, sb.cpu/nh.cpu)
	}
}
