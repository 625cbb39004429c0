// Command stall floods a WebSocket server with stalled partial messages
// while one healthy connection keeps echoing, and reports what the server
// made of it (scripts/stall-budget.sh runs it against examples/echo):
//
//   - N connections, spread over source addresses from -src up, each send
//     one binary frame whose header declares -size bytes and all of its
//     payload but the last byte, and then nothing (not even a pong: it would
//     land inside the frame);
//   - one healthy connection sends a -echo-size message every -echo-every
//     and waits for its echo, before, during and after the flood;
//   - the server's RSS (VmRSS of -pid) is sampled every 100 ms.
//
// It reports how many stalled connections were accepted, refused at the
// handshake, and closed by the server (by close code), the server's RSS
// (baseline, peak, at the end of the hold, after every stalled connection
// is closed), whether the server process is alive, and the healthy
// connection's echoes and round-trip latency per phase. It stops opening
// stalled connections once the server's RSS passes -rss-limit-mb (so a
// server without an inbound budget does not take the machine down), and
// every phase is bounded in time.
//
// The healthy connection is switchboard's public client (package client);
// the stalled ones are raw WebSocket connections (internal/wstest, through
// package load), since a client that leaves a frame open for good is what
// package client will not be.
//
//	stall -addr 127.0.0.1:9001 -pid 1234 -n 6000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/histo"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

type options struct {
	addr, path   string
	pid          int
	n, size      int
	src          string
	perSource    int
	conc         int
	writeTimeout time.Duration
	hold, after  time.Duration
	baseline     time.Duration
	echoSize     int
	echoEvery    time.Duration
	rssLimit     uint64
	maxTime      time.Duration
	csvPath      string
	jsonPath     string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:9001", "server address")
	flag.StringVar(&o.path, "path", "/", "request path")
	flag.IntVar(&o.pid, "pid", 0, "server process id, for its RSS and CPU (0: not read)")
	flag.IntVar(&o.n, "n", 6000, "stalled connections (at most 19000: one process, 20000 files)")
	flag.IntVar(&o.size, "size", 1<<20, "message size each stalled connection declares; it sends all but the last byte")
	flag.StringVar(&o.src, "src", "127.0.0.2", "first source address of the stalled connections")
	flag.IntVar(&o.perSource, "per-source", 1000, "stalled connections per source address")
	flag.IntVar(&o.conc, "conc", 64, "connections dialled and written at once")
	flag.DurationVar(&o.writeTimeout, "write-timeout", 30*time.Second, "bound of each partial message's write (a server that stops reading fails it)")
	flag.DurationVar(&o.baseline, "baseline", 3*time.Second, "healthy echoes alone before the flood")
	flag.DurationVar(&o.hold, "hold", 15*time.Second, "how long the stalled connections stay open after the last was opened")
	flag.DurationVar(&o.after, "after", 10*time.Second, "how long to watch after closing them")
	flag.IntVar(&o.echoSize, "echo-size", 1024, "healthy connection's message size")
	flag.DurationVar(&o.echoEvery, "echo-every", 5*time.Millisecond, "healthy connection's pause between echoes (keep it under the server's message rate limit)")
	rssMB := flag.Int("rss-limit-mb", 0, "stop opening stalled connections once the server's RSS passes this (0: half the memory available now, at most 8192)")
	flag.DurationVar(&o.maxTime, "max-time", 4*time.Minute, "bound of the whole run")
	flag.StringVar(&o.csvPath, "csv", "", "write the time series (seconds, RSS, stalled open, closed by server, echoes) to this file")
	flag.StringVar(&o.jsonPath, "json", "", "write the summary as JSON to this file")
	flag.Parse()
	if o.n > 19000 {
		fail(errors.New("-n over 19000: run several processes with different -src"))
	}
	if o.size < 2 {
		fail(errors.New("-size below 2"))
	}
	o.rssLimit = uint64(*rssMB) << 20
	if o.rssLimit == 0 {
		o.rssLimit = min(memAvailable()/2, 8<<30)
	}
	r, err := run(o)
	if r != nil {
		r.print(os.Stdout)
		if o.jsonPath != "" {
			b, _ := json.MarshalIndent(r, "", "  ")
			if werr := os.WriteFile(o.jsonPath, b, 0o644); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "stall:", err)
	os.Exit(1)
}

// Phase is the healthy connection's record over one phase of the run.
type Phase struct {
	Name   string  `json:"name"`
	Secs   float64 `json:"secs"`
	Echoes uint64  `json:"echoes"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
	hist   histo.H
	start  time.Time
}

// Report is the outcome of a run.
type Report struct {
	Addr string `json:"addr"`
	N    int    `json:"n"`
	Size int    `json:"size"`

	Dialled        int            `json:"dialled"`          // stalled connections attempted
	Accepted       int            `json:"accepted"`         // upgraded
	Refused        map[string]int `json:"refused"`          // handshake failures by reason
	Sent           int            `json:"sent"`             // partial messages written in full
	WriteFailed    map[string]int `json:"write_failed"`     // partial messages not written, by reason
	ClosedByServer map[string]int `json:"closed_by_server"` // by close code, or how TCP ended
	OpenAtEnd      int            `json:"open_at_end"`      // stalled connections open after the hold
	StoppedAtRSS   bool           `json:"stopped_at_rss"`   // opening stopped at -rss-limit-mb
	FloodSecs      float64        `json:"flood_secs"`       // opening them all took

	RSSBase      uint64   `json:"rss_base"`      // before the flood
	RSSPeak      uint64   `json:"rss_peak"`      // highest sample
	RSSHoldEnd   uint64   `json:"rss_hold_end"`  // at the end of the hold
	RSSAfter     uint64   `json:"rss_after"`     // -after past closing every stalled connection
	RSSAfterMin  uint64   `json:"rss_after_min"` // lowest sample in that time
	ServerCPU    float64  `json:"server_cpu_s"`  // during the flood and the hold
	ServerAlive  bool     `json:"server_alive"`  // at the end
	HealthyAlive bool     `json:"healthy_alive"` // the healthy connection, at the end
	HealthyErr   string   `json:"healthy_err"`   // why it stopped, if it did
	Phases       []*Phase `json:"phases"`
}

type stalled struct {
	c       *wstest.Client
	closing atomic.Bool
}

// healthy is the healthy connection: each echo is handed over with its
// arrival time, taken in the client's message callback.
type healthy struct {
	c      *client.Conn
	echoes chan echoed
	closed chan error
}

type echoed struct {
	p  []byte
	at time.Time
}

func (h *healthy) OnOpen(*client.Conn) {}

func (h *healthy) OnMessage(_ *client.Conn, _ client.MessageType, p []byte) {
	at := time.Now()
	select {
	case h.echoes <- echoed{append([]byte(nil), p...), at}:
	default: // not waited for: dropped, and the wait sees a mismatch
	}
}

func (h *healthy) OnClose(_ *client.Conn, err error) {
	h.closed <- err
}

type runner struct {
	o   options
	rep *Report

	mu       sync.Mutex
	conns    []*stalled
	refused  map[string]int
	wfailed  map[string]int
	closedBy map[string]int
	open     atomic.Int64
	closed   atomic.Int64
	echoes   atomic.Uint64
	stop     atomic.Bool // stop opening stalled connections
	readers  sync.WaitGroup

	phase atomic.Pointer[Phase]
}

func run(o options) (*Report, error) {
	deadline := time.Now().Add(o.maxTime)
	r := &runner{o: o, refused: map[string]int{}, wfailed: map[string]int{}, closedBy: map[string]int{}}
	rep := &Report{Addr: o.addr, N: o.n, Size: o.size}
	r.rep = rep

	cl, err := client.New(client.Config{EventLoops: 1})
	if err != nil {
		return nil, err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = cl.Close(ctx)
	}()
	hd := &client.Dialer{Client: cl, HandshakeTimeout: 10 * time.Second, PingInterval: -1,
		MaxMessageSize: int64(max(o.echoSize, 1<<20)), MaxOutbound: max(o.echoSize, 1<<20)}
	hc := &healthy{echoes: make(chan echoed, 1), closed: make(chan error, 1)}
	if hc.c, err = hd.Dial(context.Background(), "ws://"+o.addr+o.path, hc); err != nil {
		return nil, fmt.Errorf("healthy connection: %w", err)
	}

	// RSS sampler
	samplerDone := make(chan struct{})
	stopSampler := make(chan struct{})
	var rssMu sync.Mutex
	var rssNow uint64
	var csv *os.File
	if o.csvPath != "" {
		if csv, err = os.Create(o.csvPath); err != nil {
			return nil, err
		}
		defer csv.Close()
		fmt.Fprintln(csv, "secs,rss_bytes,stalled_open,closed_by_server,echoes")
	}
	t0 := time.Now()
	go func() {
		defer close(samplerDone)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			rss := procRSS(o.pid)
			rssMu.Lock()
			rssNow = rss
			rep.RSSPeak = max(rep.RSSPeak, rss)
			rssMu.Unlock()
			if o.pid > 0 && rss > o.rssLimit && !r.stop.Load() {
				r.stop.Store(true)
				rep.StoppedAtRSS = true
				fmt.Fprintf(os.Stderr, "stall: server RSS %d MB over the limit %d MB: no more stalled connections\n", rss>>20, o.rssLimit>>20)
			}
			if csv != nil {
				fmt.Fprintf(csv, "%.1f,%d,%d,%d,%d\n", time.Since(t0).Seconds(), rss, r.open.Load(), r.closed.Load(), r.echoes.Load())
			}
			select {
			case <-stopSampler:
				return
			case <-tk.C:
			}
		}
	}()
	rss := func() uint64 {
		rssMu.Lock()
		defer rssMu.Unlock()
		return rssNow
	}

	// healthy echoes, recorded into the current phase
	echoDone := make(chan struct{})
	stopEcho := make(chan struct{})
	r.newPhase("before the flood")
	go func() {
		defer close(echoDone)
		rep.HealthyErr = r.echoLoop(hc, stopEcho)
	}()
	sleepUntil(time.Now().Add(o.baseline), deadline)
	rep.RSSBase = procRSS(o.pid)

	// the flood
	r.newPhase("flood and hold")
	cpu0 := procCPU(o.pid)
	start := time.Now()
	r.flood(deadline)
	rep.FloodSecs = time.Since(start).Seconds()
	sleepUntil(time.Now().Add(o.hold), deadline)
	rep.ServerCPU = procCPU(o.pid) - cpu0
	rep.RSSHoldEnd = rss()
	rep.OpenAtEnd = int(r.open.Load())

	// close every stalled connection and watch the server recover
	r.newPhase("after closing")
	r.mu.Lock()
	conns := r.conns
	r.mu.Unlock()
	for _, s := range conns {
		s.closing.Store(true)
		_ = load.CloseStalled(s.c)
	}
	r.readers.Wait()
	rssMu.Lock()
	rep.RSSAfterMin = rssNow
	rssMu.Unlock()
	end := time.Now().Add(o.after)
	for time.Now().Before(end) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if v := rss(); v < rep.RSSAfterMin || rep.RSSAfterMin == 0 {
			rep.RSSAfterMin = v
		}
	}
	rep.RSSAfter = procRSS(o.pid)
	close(stopEcho)
	<-echoDone
	r.newPhase("")
	close(stopSampler)
	<-samplerDone

	rep.ServerAlive = o.pid <= 0 || alive(o.pid)
	rep.HealthyAlive = rep.HealthyErr == ""
	r.mu.Lock()
	rep.Refused, rep.WriteFailed, rep.ClosedByServer = r.refused, r.wfailed, r.closedBy
	r.mu.Unlock()
	return rep, nil
}

// newPhase closes the current phase (if any) and starts one named name
// ("": none).
func (r *runner) newPhase(name string) {
	if p := r.phase.Load(); p != nil {
		p.Secs = time.Since(p.start).Seconds()
		p.Echoes = p.hist.Count()
		p.P50 = ms(p.hist.Quantile(0.5))
		p.P99 = ms(p.hist.Quantile(0.99))
		p.Max = ms(p.hist.Quantile(1))
	}
	if name == "" {
		r.phase.Store(nil)
		return
	}
	p := &Phase{Name: name, start: time.Now()}
	r.rep.Phases = append(r.rep.Phases, p)
	r.phase.Store(p)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// echoLoop sends one message every o.echoEvery and waits for its echo, until
// stop; it returns why it ended early ("" if it did not).
func (r *runner) echoLoop(h *healthy, stop chan struct{}) string {
	msg := make([]byte, max(r.o.echoSize, 8))
	for i := range msg {
		msg[i] = 'h'
	}
	for seq := uint64(1); ; seq++ {
		select {
		case <-stop:
			return ""
		case <-time.After(r.o.echoEvery):
		}
		copy(msg, strconv.AppendUint(nil, seq%1e8, 10))
		t := time.Now()
		if err := h.c.WriteBinary(msg); err != nil {
			return "write: " + err.Error()
		}
		var e echoed
		select {
		case e = <-h.echoes:
		case err := <-h.closed:
			return "read: " + err.Error()
		case <-time.After(10 * time.Second):
			return "read: no echo within 10s"
		}
		if !bytes.Equal(e.p, msg) {
			return fmt.Sprintf("echo %d came back different (%d bytes)", seq, len(e.p))
		}
		if ph := r.phase.Load(); ph != nil {
			ph.hist.Record(e.at.Sub(t))
		}
		r.echoes.Add(1)
	}
}

// flood opens the stalled connections, o.conc at a time: each dials, sends
// its partial message and leaves a reader waiting for the server's close.
func (r *runner) flood(deadline time.Time) {
	frame := load.PartialFrame(r.o.size)

	var next atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < r.o.conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= r.o.n || r.stop.Load() || time.Now().After(deadline) {
					return
				}
				r.one(i, frame)
			}
		}()
	}
	wg.Wait()
}

func (r *runner) one(i int, frame []byte) {
	r.mu.Lock()
	r.rep.Dialled++
	r.mu.Unlock()
	c, err := load.DialStalled(r.o.addr, r.o.path, source(r.o.src, i/r.o.perSource), nil, 10*time.Second, r.o.writeTimeout)
	if err != nil {
		r.count(r.refused, reason(err))
		return
	}
	s := &stalled{c: c}
	r.mu.Lock()
	r.rep.Accepted++
	r.conns = append(r.conns, s)
	r.mu.Unlock()
	r.open.Add(1)
	r.readers.Add(1)
	go r.read(s)
	if err = c.WriteRaw(frame); err != nil {
		r.count(r.wfailed, reason(err))
		return
	}
	r.mu.Lock()
	r.rep.Sent++
	r.mu.Unlock()
}

// read waits for the server to end a stalled connection and records how.
func (r *runner) read(s *stalled) {
	defer r.readers.Done()
	err := load.WaitStalled(s.c)
	r.open.Add(-1)
	if s.closing.Load() {
		return
	}
	r.closed.Add(1)
	var ce *wstest.CloseError
	if errors.As(err, &ce) {
		r.count(r.closedBy, fmt.Sprintf("close %d", ce.Code))
	} else {
		r.count(r.closedBy, "no close frame: "+reason(err))
	}
	_ = load.CloseStalled(s.c)
}

func (r *runner) count(m map[string]int, key string) {
	r.mu.Lock()
	m[key]++
	r.mu.Unlock()
}

// reason shortens an error to what it says about the server: the status
// line of a refused handshake, or the kind of socket error.
func reason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no source port left"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	var he *wstest.HandshakeError
	if errors.As(err, &he) {
		return fmt.Sprintf("HTTP/1.1 %d %s", he.Status, http.StatusText(he.Status))
	}
	return err.Error()
}

// source returns the k-th source address counting up from first.
func source(first string, k int) net.IP {
	ip := net.ParseIP(first).To4()
	if ip == nil {
		return nil
	}
	out := make(net.IP, 4)
	copy(out, ip)
	n := int(ip[3]) + k
	out[2] += byte(n / 256)
	out[3] = byte(n % 256)
	return out
}

func sleepUntil(t, deadline time.Time) {
	if deadline.Before(t) {
		t = deadline
	}
	time.Sleep(time.Until(t))
}

// procRSS returns VmRSS of process pid in bytes (0 if unknown).
func procRSS(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, _ := strconv.ParseUint(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// procCPU returns the user + system CPU time of process pid in seconds.
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// the fields after the command name, which is in parentheses
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14 of stat
	st, _ := strconv.ParseFloat(f[12], 64) // field 15
	return (ut + st) / 100                 // USER_HZ, 100 on Linux
}

// alive says whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

func memAvailable() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 8 << 30
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, _ := strconv.ParseUint(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 8 << 30
}

func mb(v uint64) string { return fmt.Sprintf("%.1f MB", float64(v)/(1<<20)) }

func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "stalled connections: %d of %d dialled, %d accepted, %d partial %d-byte messages sent in full (in %.1f s)\n",
		r.Dialled, r.N, r.Accepted, r.Sent, r.Size, r.FloodSecs)
	if r.StoppedAtRSS {
		fmt.Fprintf(w, "  stopped opening: the server's RSS passed the limit\n")
	}
	printCounts(w, "  refused at the handshake", r.Refused)
	printCounts(w, "  partial message not sent", r.WriteFailed)
	printCounts(w, "  closed by the server", r.ClosedByServer)
	fmt.Fprintf(w, "  still open after the hold: %d\n", r.OpenAtEnd)
	if r.RSSBase > 0 {
		fmt.Fprintf(w, "server RSS: %s before, peak %s, %s at the end of the hold, %s after closing every stalled connection (lowest %s)\n",
			mb(r.RSSBase), mb(r.RSSPeak), mb(r.RSSHoldEnd), mb(r.RSSAfter), mb(r.RSSAfterMin))
		if r.OpenAtEnd > 0 {
			fmt.Fprintf(w, "  %.2f MB of RSS per stalled connection still open at the end of the hold\n",
				(float64(r.RSSHoldEnd)-float64(r.RSSBase))/float64(r.OpenAtEnd)/(1<<20))
		}
		fmt.Fprintf(w, "server CPU during the flood and the hold: %.1f s\n", r.ServerCPU)
	}
	fmt.Fprintf(w, "server alive at the end: %v\n", r.ServerAlive)
	state := "alive"
	if !r.HealthyAlive {
		state = "FAILED: " + r.HealthyErr
	}
	fmt.Fprintf(w, "healthy connection: %s\n", state)
	for _, p := range r.Phases {
		fmt.Fprintf(w, "  %-16s %6.1f s: %6d echoes, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", p.Name, p.Secs, p.Echoes, p.P50, p.P99, p.Max)
	}
}

func printCounts(w io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %s", m[k], k))
	}
	fmt.Fprintf(w, "%s: %s\n", title, strings.Join(parts, ", "))
}
