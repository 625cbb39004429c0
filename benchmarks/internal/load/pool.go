package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/histo"
)

// Options configure a Pool.
type Options struct {
	// Bin is the loadgen binary started as `Bin worker`; "": this process's
	// own executable.
	Bin  string
	Addr string // server address, host:port
	Path string // request path; "": /
	Raw  bool   // plain TCP (no WebSocket)

	// SrcBase is the first source address (e.g. 127.0.0.2); each PerSource
	// connections take the next one. "": the kernel chooses.
	SrcBase   string
	PerSource int // 0: 10000 (of about 28k ports per source address here)
	// PerProcess caps connections per worker process (open-file limit).
	// 0: 15000.
	PerProcess int
	// PingEvery makes workers ping every connection this often, for servers
	// whose heartbeat is a read deadline the client must keep alive. 0: off.
	PingEvery time.Duration
	// Deflate is the permessage-deflate offer of every connection
	// (Deflate* in dial.go): a dial whose answer does not agree fails. "":
	// none.
	Deflate string
	// Doc is the payload of echo messages and publishes ("" or DocJSON).
	Doc string
	// Broadcast says the pool's connections only take broadcasts (and the
	// first publishes): with Deflate DeflateNoContextTakeover, all but one
	// in SampleEvery are raw receivers that inflate each distinct
	// compressed payload once per worker process (recv.go), not every copy.
	Broadcast bool
	// RawReceivers, with Broadcast, makes all but one in SampleEvery raw
	// receivers without deflate too, so that a job comparing broadcasts
	// with and without compression reads both the same way.
	RawReceivers bool
	// TLSCA, when set, makes every connection wss:// (crypto/tls, verifying
	// the server's certificate against this CA's PEM file); TLSResume keeps
	// a session cache per worker process.
	TLSCA     string
	TLSResume bool
	// CPUs confines the worker processes to these CPUs (taskset's list
	// syntax, e.g. "1"); "": anywhere.
	CPUs string
	// Env is added to the worker processes' environment.
	Env []string

	DialConcurrency int           // per worker; 0: 64
	DialTimeout     time.Duration // 0: 10s

	// Progress receives a progress bar (redrawn in place on a terminal, one
	// summary line per step otherwise); nil: quiet.
	Progress io.Writer
	Label    string // prefix of progress lines
}

// Pool is a set of worker processes holding connections to one server.
type Pool struct {
	opts    Options
	workers []*workerProc
	events  chan wev
	bar     *bar
}

type workerProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	enc  *json.Encoder
	live int
	exit chan struct{}
}

type wev struct {
	w  int
	ev Event
}

// NewPool returns a pool with no connections yet.
func NewPool(opts Options) *Pool {
	if opts.PerProcess <= 0 {
		opts.PerProcess = 15000
	}
	if opts.PerSource <= 0 {
		opts.PerSource = 10000
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	return &Pool{opts: opts, events: make(chan wev, 4096)}
}

// Live is the number of connections held.
func (p *Pool) Live() int {
	n := 0
	for _, w := range p.workers {
		n += w.live
	}
	return n
}

// Workers is the number of worker processes.
func (p *Pool) Workers() int { return len(p.workers) }

func (p *Pool) spawn(ctx context.Context) error {
	bin := p.opts.Bin
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		bin = exe
	}
	cmd := PinnedCommand(p.opts.CPUs, bin, "worker")
	if len(p.opts.Env) > 0 {
		cmd.Env = append(os.Environ(), p.opts.Env...)
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	id := len(p.workers)
	w := &workerProc{cmd: cmd, in: in, enc: json.NewEncoder(in), exit: make(chan struct{})}
	p.workers = append(p.workers, w)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var ev Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				continue
			}
			p.events <- wev{id, ev}
		}
		_ = cmd.Wait()
		close(w.exit)
		p.events <- wev{id, Event{Ev: "exit"}}
	}()
	if _, err := p.wait(ctx, []int{id}, "ready", 30*time.Second); err != nil {
		return err
	}
	init := Command{
		Op: "init", Addr: p.opts.Addr, Path: p.opts.Path, Raw: p.opts.Raw,
		SrcBase: p.opts.SrcBase, PerSource: p.opts.PerSource,
		PingEveryMS: int(p.opts.PingEvery / time.Millisecond), DialConc: p.opts.DialConcurrency,
		DialTimeoutMS: int(p.opts.DialTimeout / time.Millisecond), Deflate: p.opts.Deflate,
		TLSCA: p.opts.TLSCA, TLSResume: p.opts.TLSResume, BcastOnly: p.opts.Broadcast,
		RawReceivers: p.opts.RawReceivers,
	}
	if err := p.send(id, init); err != nil {
		return err
	}
	_, err = p.wait(ctx, []int{id}, "ok", 30*time.Second)
	return err
}

func (p *Pool) send(w int, c Command) error {
	if err := p.workers[w].enc.Encode(c); err != nil {
		return fmt.Errorf("worker %d: %w", w, err)
	}
	return nil
}

// wait collects one event named ev from each worker in ws (progress events
// feed the bar; an error event or a worker exit fails the wait).
func (p *Pool) wait(ctx context.Context, ws []int, ev string, timeout time.Duration) (map[int]Event, error) {
	got := make(map[int]Event, len(ws))
	want := make(map[int]bool, len(ws))
	for _, w := range ws {
		want[w] = true
	}
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for len(got) < len(ws) {
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case <-tm.C:
			return got, fmt.Errorf("waiting for %q: timed out after %v", ev, timeout)
		case e := <-p.events:
			switch {
			case e.ev.Ev == "progress":
				if p.bar != nil {
					p.bar.set(e.w, e.ev.Done)
				}
			case e.ev.Ev == "exit":
				return got, fmt.Errorf("worker %d exited", e.w)
			case e.ev.Ev == "error" && want[e.w]:
				return got, fmt.Errorf("worker %d: %s", e.w, e.ev.Err)
			case e.ev.Ev == ev && want[e.w]:
				got[e.w] = e.ev
			}
		}
	}
	return got, nil
}

// Grow opens connections until the pool holds total (or as many as
// succeed). It returns the number held and the first dial error, if any.
func (p *Pool) Grow(ctx context.Context, total int) (int, error) {
	need := total - p.Live()
	if need <= 0 {
		return p.Live(), nil
	}
	p.startBar("connect", need)
	var ws []int
	for w := 0; w*p.opts.PerProcess < total; w++ {
		if w >= len(p.workers) {
			if err := p.spawn(ctx); err != nil {
				p.endBar()
				return p.Live(), err
			}
		}
		target := min(p.opts.PerProcess, total-w*p.opts.PerProcess)
		if n := target - p.workers[w].live; n > 0 {
			first := w*p.opts.PerProcess + p.workers[w].live
			if err := p.send(w, Command{Op: "connect", N: n, First: first}); err != nil {
				p.endBar()
				return p.Live(), err
			}
			ws = append(ws, w)
		}
	}
	evs, err := p.wait(ctx, ws, "connected", 10*time.Minute)
	var dialErr error
	for w, ev := range evs {
		if p.bar != nil {
			p.bar.set(w, int64(ev.OK+ev.Fail))
		}
		p.workers[w].live = ev.Live
		if ev.Err != "" && dialErr == nil {
			dialErr = fmt.Errorf("%d of %d connections failed: %s", ev.Fail, ev.Fail+ev.OK, ev.Err)
		}
	}
	p.endBar()
	if err != nil {
		return p.Live(), err
	}
	return p.Live(), dialErr
}

// EchoResult is the outcome of Echo.
type EchoResult struct {
	Conns   int
	Msgs    int64 // round trips completed
	Elapsed time.Duration
	Hist    *histo.H
	Errors  int64
	// Tx and Rx are the socket bytes the workers wrote and read during the
	// echo (TCP payload: WebSocket frames both ways, pings included).
	Tx, Rx int64
}

// Rate is round trips per second.
func (r EchoResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Msgs) / r.Elapsed.Seconds()
}

// Echo has conns connections each send msgs messages of size bytes, each
// after the previous one came back; record says whether to keep latencies
// (false for a warm-up). It stops sending after timeout.
func (p *Pool) Echo(ctx context.Context, conns, msgs, size int, timeout time.Duration, record bool) (EchoResult, error) {
	res := EchoResult{Hist: &histo.H{}}
	ws, n, err := p.spread(conns, func(n int) Command {
		return Command{Op: "echo", Conns: n, Msgs: msgs, Size: size, TimeoutMS: int(timeout / time.Millisecond), Record: record, Doc: p.opts.Doc}
	})
	res.Conns = n
	if err != nil {
		return res, err
	}
	label := "echo"
	if !record {
		label = "warm-up"
	}
	p.startBar(fmt.Sprintf("%s %dB", label, size), res.Conns*msgs)
	evs, err := p.wait(ctx, ws, "echo", timeout+time.Minute)
	var runErr error
	for w, ev := range evs {
		if p.bar != nil {
			p.bar.set(w, ev.Msgs)
		}
		res.Msgs += ev.Msgs
		res.Errors += ev.Count
		res.Tx += ev.Tx
		res.Rx += ev.Rx
		if d := time.Duration(ev.ElapsedNS); d > res.Elapsed {
			res.Elapsed = d
		}
		if ev.Hist != nil {
			res.Hist.Merge(histo.FromSnapshot(*ev.Hist))
		}
		if ev.Err != "" && runErr == nil {
			runErr = errors.New(ev.Err)
		}
	}
	p.endBar()
	if err != nil {
		return res, err
	}
	return res, runErr
}

// StallResult is the outcome of Stall.
type StallResult struct {
	Conns  int // connections asked to stall
	Sent   int // partial messages written in full
	Failed int // partial messages not written (error or timeout)
}

// Stall has conns connections each write all of a size-byte binary message
// but its last byte and then nothing more on that connection (see the
// stall format in proto.go); every write must end within timeout. The
// connections stay open until the pool closes (or the server closes them).
func (p *Pool) Stall(ctx context.Context, conns, size int, timeout time.Duration) (StallResult, error) {
	var res StallResult
	ws, n, err := p.spread(conns, func(n int) Command {
		return Command{Op: "stall", Conns: n, Size: size, TimeoutMS: int(timeout / time.Millisecond)}
	})
	res.Conns = n
	if err != nil {
		return res, err
	}
	p.startBar(fmt.Sprintf("stall %dB", size), res.Conns)
	evs, err := p.wait(ctx, ws, "stalled", timeout+time.Minute)
	var runErr error
	for w, ev := range evs {
		if p.bar != nil {
			p.bar.set(w, int64(ev.OK+ev.Fail))
		}
		res.Sent += ev.OK
		res.Failed += ev.Fail
		p.workers[w].live = ev.Live
		if ev.Err != "" && runErr == nil {
			runErr = errors.New(ev.Err)
		}
	}
	p.endBar()
	if err != nil {
		return res, err
	}
	return res, runErr
}

// BroadcastResult is the outcome of Broadcast.
type BroadcastResult struct {
	Subscribers int
	Publishes   int
	// Completion holds, for each publish every subscriber received, the
	// time from sending until the last subscriber had it; sorted.
	Completion []time.Duration
	Lost       int   // publishes some subscriber did not get in time
	Arrivals   int64 // messages received, all publishes together
	// Bad counts the arrivals whose length was not the size published,
	// among those inflated in full (or not compressed): all of them but
	// the Shared ones.
	Bad int64
	// Shared counts the compressed arrivals at raw receivers served from
	// their worker's zcache without inflating (Options.Broadcast).
	Shared int64
}

// Quantile returns the q-quantile of the completion times.
func (r BroadcastResult) Quantile(q float64) time.Duration {
	if len(r.Completion) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Completion))+0.5) - 1
	i = max(0, min(i, len(r.Completion)-1))
	return r.Completion[i]
}

// Broadcast has the pool's first connection publish k messages of size
// bytes, one after another: each after every connection received the one
// before (or timeout passed) and gap more.
func (p *Pool) Broadcast(ctx context.Context, k, size int, gap, timeout time.Duration) (BroadcastResult, error) {
	res := BroadcastResult{Publishes: k}
	all := make([]int, len(p.workers))
	for w := range p.workers {
		all[w] = w
		if err := p.send(w, Command{Op: "bcast_begin", K: k, Size: size, Doc: p.opts.Doc}); err != nil {
			return res, err
		}
	}
	evs, err := p.wait(ctx, all, "ok", 30*time.Second)
	if err != nil {
		return res, err
	}
	var ws []int // workers holding subscribers
	for w, ev := range evs {
		res.Subscribers += ev.Live
		if ev.Live > 0 {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 || p.workers[0].live == 0 {
		return res, errors.New("broadcast: no connections")
	}
	p.startBar("broadcast", k)
	for seq := 0; seq < k; seq++ {
		if err := p.send(0, Command{Op: "publish", Seq: seq, Size: size}); err != nil {
			p.endBar()
			return res, err
		}
		got, err := p.waitGot(ctx, ws, seq, timeout)
		if err != nil {
			p.endBar()
			return res, err
		}
		if len(got) == len(ws) {
			var worst int64
			for _, ns := range got {
				worst = max(worst, ns)
			}
			res.Completion = append(res.Completion, time.Duration(worst))
		} else {
			res.Lost++
		}
		if p.bar != nil {
			p.bar.set(0, int64(seq+1))
		}
		time.Sleep(gap)
	}
	p.endBar()
	for _, w := range all {
		if err := p.send(w, Command{Op: "bcast_end"}); err != nil {
			return res, err
		}
	}
	ends, err := p.wait(ctx, all, "bcast", 30*time.Second)
	for _, ev := range ends {
		for _, c := range ev.Counts {
			res.Arrivals += c
		}
		res.Bad += int64(ev.Fail)
		res.Shared += ev.Shared
	}
	sort.Slice(res.Completion, func(i, j int) bool { return res.Completion[i] < res.Completion[j] })
	return res, err
}

// waitGot collects the "got" events of publish seq from workers ws, giving
// up after timeout (a subscriber lost the message or its connection).
func (p *Pool) waitGot(ctx context.Context, ws []int, seq int, timeout time.Duration) (map[int]int64, error) {
	got := make(map[int]int64, len(ws))
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for len(got) < len(ws) {
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case <-tm.C:
			return got, nil
		case e := <-p.events:
			switch e.ev.Ev {
			case "got":
				if e.ev.Seq == seq {
					got[e.w] = e.ev.MaxNS
				}
			case "exit":
				return got, fmt.Errorf("worker %d exited", e.w)
			case "error":
				return got, fmt.Errorf("worker %d: %s", e.w, e.ev.Err)
			}
		}
	}
	return got, nil
}

// Close ends the workers, which close their connections.
func (p *Pool) Close() error {
	for _, w := range p.workers {
		_ = w.in.Close()
	}
	var errs []error
	for i, w := range p.workers {
		select {
		case <-w.exit:
		case <-time.After(15 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.exit
			errs = append(errs, fmt.Errorf("worker %d killed", i))
		}
	}
	p.workers = nil
	return errors.Join(errs...)
}

// bar draws progress.
type bar struct {
	mu    sync.Mutex
	out   io.Writer
	tty   bool
	label string
	total int
	done  map[int]int64
	start time.Time
	drawn time.Time
}

func (p *Pool) startBar(label string, total int) {
	if p.opts.Progress == nil {
		p.bar = nil
		return
	}
	if p.opts.Label != "" {
		label = p.opts.Label + " " + label
	}
	p.bar = &bar{out: p.opts.Progress, tty: isTerminal(p.opts.Progress), label: label, total: total, done: map[int]int64{}, start: time.Now()}
}

func (p *Pool) endBar() {
	if p.bar != nil {
		p.bar.finish()
		p.bar = nil
	}
}

func (b *bar) set(w int, v int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done[w] = v
	if b.tty && time.Since(b.drawn) > 100*time.Millisecond {
		b.draw(false)
	}
}

func (b *bar) sum() int64 {
	var s int64
	for _, v := range b.done {
		s += v
	}
	return s
}

func (b *bar) draw(final bool) {
	b.drawn = time.Now()
	const width = 30
	done := b.sum()
	frac := 0.0
	if b.total > 0 {
		frac = min(1, float64(done)/float64(b.total))
	}
	fill := int(frac * width)
	line := fmt.Sprintf("%-28s [%s%s] %d/%d %5.1fs", b.label, repeat('#', fill), repeat('.', width-fill), done, b.total, time.Since(b.start).Seconds())
	if b.tty {
		fmt.Fprintf(b.out, "\r\033[K%s", line)
		if final {
			fmt.Fprintln(b.out)
		}
	} else if final {
		fmt.Fprintln(b.out, line)
	}
}

func (b *bar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw(true)
}

func repeat(c byte, n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// spread hands cmd(n) to the workers in order, each for as many of its live
// connections as are still needed, until conns are covered. It returns the
// workers used and the connections covered.
func (p *Pool) spread(conns int, cmd func(n int) Command) (ws []int, covered int, err error) {
	for w := range p.workers {
		if covered >= conns {
			break
		}
		n := min(conns-covered, p.workers[w].live)
		if n == 0 {
			continue
		}
		covered += n
		if err := p.send(w, cmd(n)); err != nil {
			return ws, covered, err
		}
		ws = append(ws, w)
	}
	return ws, covered, nil
}

// CPU returns the user + system CPU time the pool's worker processes have
// used so far (from /proc/<pid>/stat, in clock ticks of 10 ms), for the
// load generator's share of a job's CPU.
func (p *Pool) CPU() time.Duration {
	var ticks uint64
	for _, w := range p.workers {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", w.cmd.Process.Pid))
		if err != nil {
			continue
		}
		// the fields after the command name, which is in parentheses
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseUint(f[11], 10, 64) // utime, field 14
		s, _ := strconv.ParseUint(f[12], 10, 64) // stime, field 15
		ticks += u + s
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// HandshakeResult is the outcome of Handshakes.
type HandshakeResult struct {
	Opened  int64 // connections opened and closed
	Failed  int64
	Resumed int64 // of Opened, TLS sessions resumed
	Elapsed time.Duration
}

// Rate is connections opened per second.
func (r HandshakeResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Opened) / r.Elapsed.Seconds()
}

// Handshakes has conc goroutines in one worker open and close connections
// one after another for dur (see the handshake op). It needs no
// connections held; it starts the worker if there is none.
func (p *Pool) Handshakes(ctx context.Context, conc int, dur time.Duration) (HandshakeResult, error) {
	var res HandshakeResult
	if len(p.workers) == 0 {
		if err := p.spawn(ctx); err != nil {
			return res, err
		}
	}
	if err := p.send(0, Command{Op: "handshake", Conns: conc, TimeoutMS: int(dur / time.Millisecond)}); err != nil {
		return res, err
	}
	p.startBar("handshakes", 0)
	evs, err := p.wait(ctx, []int{0}, "handshake", dur+time.Minute)
	p.endBar()
	ev := evs[0]
	res.Opened, res.Failed, res.Resumed, res.Elapsed = ev.Msgs, ev.Count, int64(ev.OK), time.Duration(ev.ElapsedNS)
	if err != nil {
		return res, err
	}
	if ev.Err != "" && res.Opened == 0 {
		return res, errors.New(ev.Err)
	}
	return res, nil
}
