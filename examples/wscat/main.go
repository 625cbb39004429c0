// Command wscat is a command-line WebSocket client on switchboard's client
// package: it sends each line of stdin as a text message and prints every
// message it receives.
//
//	go run ./examples/wscat ws://127.0.0.1:8080/
//	go run ./examples/wscat -reconnect -H 'Authorization: Bearer x' wss://example.com/ws
//	go run ./examples/wscat -insecure wss://127.0.0.1:8443/        # self-signed test certificate
//	go run ./examples/wscat -n 1000 ws://127.0.0.1:8080/           # open 1000 connections, print a summary
//
// Received text is printed as "< message"; binary as "< [binary N bytes]".
// Status lines go to stderr. End of stdin closes the connection (1000).
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/codec"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// headers collects repeated -H flags.
type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

type options struct {
	url          string
	reconnect    bool
	headers      headers
	insecure     bool
	n            int
	concurrency  int
	hold         time.Duration
	subprotocols string
	compression  string
	timeout      time.Duration
	proxyEnv     bool
}

func parse(args []string, stderr io.Writer) (*options, *client.Dialer, error) {
	o := &options{}
	fs := flag.NewFlagSet("wscat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.reconnect, "reconnect", false, "reconnect with backoff and jitter when the connection drops")
	fs.Var(&o.headers, "H", "extra handshake header 'Name: value' (repeatable)")
	fs.BoolVar(&o.insecure, "insecure", false, "do not verify the server's certificate (self-signed test certificates)")
	fs.IntVar(&o.n, "n", 1, "open N connections and print a summary (N > 1: stdin is not read)")
	fs.IntVar(&o.concurrency, "c", 64, "with -n: handshakes in flight at once")
	fs.DurationVar(&o.hold, "hold", 0, "with -n: keep the connections open this long before closing")
	fs.StringVar(&o.subprotocols, "subprotocol", "", "subprotocols to offer, comma-separated")
	fs.StringVar(&o.compression, "compression", "off", "permessage-deflate offer: off, no-context-takeover, context-takeover")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "handshake timeout")
	fs.BoolVar(&o.proxyEnv, "proxy-from-env", true, "use HTTP_PROXY/HTTPS_PROXY/NO_PROXY (CONNECT)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wscat [flags] ws://host[:port]/path")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, nil, errors.New("one URL expected")
	}
	o.url = fs.Arg(0)
	d := &client.Dialer{HandshakeTimeout: o.timeout, Header: http.Header{}}
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return nil, nil, fmt.Errorf("-H %q: want 'Name: value'", h)
		}
		d.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if o.subprotocols != "" {
		for _, p := range strings.Split(o.subprotocols, ",") {
			d.Subprotocols = append(d.Subprotocols, strings.TrimSpace(p))
		}
	}
	switch o.compression {
	case "off", "":
	case "no-context-takeover":
		d.Compression = client.CompressionNoContextTakeover
	case "context-takeover":
		d.Compression = client.CompressionContextTakeover
	default:
		return nil, nil, fmt.Errorf("-compression %q: want off, no-context-takeover or context-takeover", o.compression)
	}
	if o.insecure {
		d.TLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the flag's purpose
	}
	if o.proxyEnv {
		d.Proxy = http.ProxyFromEnvironment
	}
	return o, d, nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, d, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "wscat:", err)
		}
		return 2
	}
	if o.n > 1 {
		return many(ctx, o, d, stdout, stderr)
	}
	return interactive(ctx, o, d, stdin, stdout, stderr)
}

// lockedWriter serializes output from the loop and the main goroutine.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, a ...any) {
	l.mu.Lock()
	fmt.Fprintf(l.w, format, a...)
	l.mu.Unlock()
}

func interactive(ctx context.Context, o *options, d *client.Dialer, stdin io.Reader, stdout, stderr io.Writer) int {
	out := &lockedWriter{w: stdout}
	status := &lockedWriter{w: stderr}
	if o.reconnect {
		d.Reconnect = &client.Reconnect{
			OnRetry: func(c *client.Conn, err error, attempt int, delay time.Duration) {
				status.printf("disconnected (%v); reconnect attempt %d in %v\n", err, attempt, delay.Round(time.Millisecond))
			},
			OnReconnect: func(c *client.Conn) { status.printf("reconnected to %s\n", c.URL()) },
		}
	}
	closed := make(chan error, 1)
	c, err := d.Dial(ctx, o.url, client.Handlers{
		Message: func(c *client.Conn, typ client.MessageType, data []byte) {
			if typ == client.Text {
				out.printf("< %s\n", data)
			} else {
				out.printf("< [binary %d bytes]\n", len(data))
			}
		},
		Close: func(c *client.Conn, err error) { closed <- err },
	})
	if err != nil {
		fmt.Fprintln(stderr, "wscat:", err)
		return 1
	}
	info := "connected to " + o.url
	if p := c.Protocol(); p != "" {
		info += " (subprotocol " + p + ")"
	}
	if c.Deflate() {
		info += " (permessage-deflate)"
	}
	status.printf("%s\n", info)

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				_ = c.Close(codec.CloseNormal, "")
				return finish(closed, status)
			}
			if err := c.WriteText([]byte(line)); err != nil {
				status.printf("not sent: %v\n", err)
			}
		case err := <-closed:
			status.printf("%v\n", err)
			return 1
		case <-ctx.Done():
			_ = c.Close(codec.CloseGoingAway, "")
			return finish(closed, status)
		}
	}
}

func finish(closed chan error, status *lockedWriter) int {
	select {
	case err := <-closed:
		status.printf("%v\n", err)
	case <-time.After(6 * time.Second):
	}
	return 0
}

// many opens o.n connections and prints a summary.
func many(ctx context.Context, o *options, d *client.Dialer, stdout, stderr io.Writer) int {
	cl, err := client.New(client.Config{})
	if err != nil {
		fmt.Fprintln(stderr, "wscat:", err)
		return 1
	}
	d.Client = cl
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  = map[string]int{}
		conns     []*client.Conn
		dropped   atomic.Int64
	)
	h := client.Handlers{Close: func(*client.Conn, error) { dropped.Add(1) }}
	sem := make(chan struct{}, max(o.concurrency, 1))
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < o.n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			c, err := d.Dial(ctx, o.url, h)
			el := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures[errorClass(err)]++
				return
			}
			latencies = append(latencies, el)
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	total := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Round(10 * time.Microsecond)
	}
	fmt.Fprintf(stdout, "connected %d, failed %d of %d in %v\n", len(latencies), o.n-len(latencies), o.n, total.Round(time.Millisecond))
	if len(latencies) > 0 {
		fmt.Fprintf(stdout, "handshake latency p50 %v p90 %v p99 %v max %v\n", pct(0.5), pct(0.9), pct(0.99), latencies[len(latencies)-1].Round(10*time.Microsecond))
	}
	keys := make([]string, 0, len(failures))
	for k := range failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "  failed: %d × %s\n", failures[k], k)
	}
	if o.hold > 0 {
		select {
		case <-time.After(o.hold):
		case <-ctx.Done():
		}
		fmt.Fprintf(stdout, "still open after %v: %d\n", o.hold, len(conns)-int(dropped.Load()))
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = cl.Close(cctx)
	if len(latencies) == 0 {
		return 1
	}
	return 0
}

// errorClass groups dial errors for the summary.
func errorClass(err error) string {
	var he *client.HandshakeError
	if errors.As(err, &he) {
		return fmt.Sprintf("HTTP %d", he.Status)
	}
	s := err.Error()
	for _, k := range []string{"connection refused", "too many open files", "timeout", "deadline exceeded", "connection reset"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	return s
}
