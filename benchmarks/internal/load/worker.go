package load

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/histo"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/jsondoc"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/wsclient"
)

// RunWorker serves coordinator commands from in, writing events to out,
// until in ends. It is what `loadgen worker` runs.
func RunWorker(in io.Reader, out io.Writer) error {
	w := &worker{enc: json.NewEncoder(out), start: time.Now()}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	stopTicker := make(chan struct{})
	go w.progressLoop(stopTicker)
	defer close(stopTicker)
	w.emit(Event{Ev: "ready"})
	for sc.Scan() {
		var cmd Command
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			w.emit(Event{Ev: "error", Err: "bad command: " + err.Error()})
			continue
		}
		if err := w.handle(&cmd); err != nil {
			w.emit(Event{Ev: "error", Err: err.Error()})
		}
	}
	w.closeAll()
	return sc.Err()
}

type worker struct {
	outMu sync.Mutex
	enc   *json.Encoder
	start time.Time

	cfg Command
	tls *tls.Config // nil: plain ws://

	mu    sync.Mutex
	conns []*client

	progress   atomic.Int64
	reporting  atomic.Bool
	echoJob    atomic.Pointer[echoJob]
	echoSeq    uint32
	bcast      atomic.Pointer[bcast]
	pingerOnce sync.Once
	readers    sync.WaitGroup
	count      wsclient.Counters // socket bytes of every connection
	lastZ      atomic.Pointer[zheader]
}

type client struct {
	*wsclient.Conn
	w       *worker
	shard   int          // which of an echo job's histograms it records into
	sentAt  atomic.Int64 // ns since w.start of the echo in flight
	left    atomic.Int64 // echoes still to send in the current job
	frame   atomic.Pointer[[]byte]
	sends   atomic.Int64 // messages sent in the current echo job (JSON docs)
	closing atomic.Bool
}

func (w *worker) emit(ev Event) {
	w.outMu.Lock()
	_ = w.enc.Encode(ev)
	w.outMu.Unlock()
}

func (w *worker) now() int64 { return int64(time.Since(w.start)) }

func (w *worker) progressLoop(stop chan struct{}) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	last := int64(-1)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if !w.reporting.Load() {
				last = -1
				continue
			}
			if v := w.progress.Load(); v != last {
				last = v
				w.emit(Event{Ev: "progress", Done: v})
			}
		}
	}
}

func (w *worker) beginOp() {
	w.progress.Store(0)
	w.reporting.Store(true)
}

func (w *worker) endOp() { w.reporting.Store(false) }

func (w *worker) live() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.conns)
}

func (w *worker) handle(cmd *Command) error {
	switch cmd.Op {
	case "init":
		return w.init(cmd)
	case "connect":
		w.beginOp()
		ok, fail, err := w.connect(cmd.First, cmd.N)
		w.endOp()
		ev := Event{Ev: "connected", OK: ok, Fail: fail, Live: w.live()}
		if err != nil {
			ev.Err = err.Error()
		}
		w.emit(ev)
	case "echo":
		w.beginOp()
		ev := w.echo(cmd)
		w.endOp()
		w.emit(ev)
	case "stall":
		w.beginOp()
		ev := w.stall(cmd)
		w.endOp()
		w.emit(ev)
	case "handshake":
		w.beginOp()
		ev := w.handshakes(cmd)
		w.endOp()
		w.emit(ev)
	case "bcast_begin":
		subs := int64(w.live())
		b := &bcast{subs: subs, size: cmd.Size, count: make([]atomic.Int64, cmd.K), max: make([]atomic.Int64, cmd.K)}
		w.cfg.Doc = cmd.Doc
		w.bcast.Store(b)
		w.emit(Event{Ev: "ok", Live: int(subs)})
	case "publish":
		return w.publish(cmd.Seq, cmd.Size)
	case "bcast_end":
		b := w.bcast.Swap(nil)
		ev := Event{Ev: "bcast"}
		if b != nil {
			for i := range b.count {
				ev.Counts = append(ev.Counts, b.count[i].Load())
			}
			ev.Live = int(b.subs)
			ev.Fail = int(b.bad.Load())
		}
		w.emit(ev)
	case "close":
		w.closeAll()
		w.emit(Event{Ev: "closed"})
	default:
		return fmt.Errorf("unknown op %q", cmd.Op)
	}
	return nil
}

func (w *worker) init(cmd *Command) error {
	w.cfg = *cmd
	if w.cfg.PerSource <= 0 {
		w.cfg.PerSource = 10000
	}
	if w.cfg.DialConc <= 0 {
		w.cfg.DialConc = 64
	}
	if w.cfg.DialTimeoutMS <= 0 {
		w.cfg.DialTimeoutMS = 10000
	}
	if w.cfg.Path == "" {
		w.cfg.Path = "/"
	}
	if w.cfg.SrcBase != "" && net.ParseIP(w.cfg.SrcBase).To4() == nil {
		return fmt.Errorf("src_base %q is not an IPv4 address", w.cfg.SrcBase)
	}
	if w.cfg.TLSCA != "" {
		pem, err := os.ReadFile(w.cfg.TLSCA)
		if err != nil {
			return err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no certificate", w.cfg.TLSCA)
		}
		host, _, err := net.SplitHostPort(w.cfg.Addr)
		if err != nil {
			return err
		}
		w.tls = &tls.Config{RootCAs: roots, ServerName: host}
		if w.cfg.TLSResume {
			w.tls.ClientSessionCache = tls.NewLRUClientSessionCache(64)
		}
	}
	if w.cfg.PingEveryMS > 0 && !w.cfg.Raw {
		w.pingerOnce.Do(func() { go w.pinger(time.Duration(w.cfg.PingEveryMS) * time.Millisecond) })
	}
	w.emit(Event{Ev: "ok"})
	return nil
}

// source returns the source address of connection number i: PerSource
// connections per address, counting up from SrcBase.
func (w *worker) source(i int) net.IP {
	if w.cfg.SrcBase == "" {
		return nil
	}
	ip := net.ParseIP(w.cfg.SrcBase).To4()
	out := make(net.IP, 4)
	copy(out, ip)
	n := int(ip[3]) + i/w.cfg.PerSource
	out[2] += byte(n / 256)
	out[3] = byte(n % 256)
	return out
}

func (w *worker) connect(first, n int) (ok, fail int, firstErr error) {
	var mu sync.Mutex
	next := first
	end := first + n
	var wg sync.WaitGroup
	conc := min(w.cfg.DialConc, n)
	timeout := time.Duration(w.cfg.DialTimeoutMS) * time.Millisecond
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= end {
					return
				}
				d := &wsclient.Dialer{Source: w.source(i), Timeout: timeout, Raw: w.cfg.Raw, Deflate: w.cfg.Deflate, Count: &w.count, TLS: w.tls}
				var c *wsclient.Conn
				var err error
				for try := 0; try < 3; try++ {
					if c, err = d.Dial(w.cfg.Addr, w.cfg.Path); err == nil {
						break
					}
					time.Sleep(time.Duration(50*(try+1)) * time.Millisecond)
				}
				mu.Lock()
				if err != nil {
					fail++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					w.progress.Add(1)
					continue
				}
				ok++
				mu.Unlock()
				cl := &client{Conn: c, w: w, shard: i}
				w.mu.Lock()
				w.conns = append(w.conns, cl)
				w.mu.Unlock()
				w.readers.Add(1)
				go cl.readLoop()
				w.progress.Add(1)
			}
		}()
	}
	wg.Wait()
	return ok, fail, firstErr
}

func (w *worker) pinger(every time.Duration) {
	for {
		time.Sleep(every)
		w.mu.Lock()
		conns := append([]*client(nil), w.conns...)
		w.mu.Unlock()
		for _, c := range conns {
			if !c.closing.Load() {
				_ = c.WriteFrame(wsclient.OpPing, nil)
			}
		}
	}
}

func (w *worker) closeAll() {
	w.mu.Lock()
	conns := w.conns
	w.conns = nil
	w.mu.Unlock()
	for _, c := range conns {
		c.closing.Store(true)
		_ = c.Close()
	}
	w.readers.Wait()
}

// dropped removes a connection the server closed.
func (w *worker) dropped(c *client) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, x := range w.conns {
		if x == c {
			w.conns[i] = w.conns[len(w.conns)-1]
			w.conns = w.conns[:len(w.conns)-1]
			return
		}
	}
}

func (c *client) readLoop() {
	defer c.w.readers.Done()
	var err error
	if c.Raw() {
		err = c.readRaw()
	} else {
		err = c.readWS()
	}
	if !c.closing.Load() {
		_ = err // the server closed it; the coordinator sees it in Live
		c.w.dropped(c)
		_ = c.Close()
	}
}

// SampleEvery: one connection in sampleEvery inflates broadcasts in full.
const SampleEvery = 100

func (c *client) readWS() error {
	for {
		_, p, err := c.ReadMessageRaw()
		if err != nil {
			return err
		}
		full := true
		if c.Compressed() {
			// A broadcast is inflated only as far as its header (the server's
			// work is what is measured, not the generator's), but on a sample
			// of connections and wherever the server keeps context (then every
			// message must go through its inflater).
			if c.w.bcast.Load() != nil && !c.ServerContext() && c.shard%SampleEvery != 0 {
				p, err = c.w.bcastHeader(c, p)
				full = false
			} else {
				p, err = c.Inflate(p)
			}
			if err != nil {
				return err
			}
		}
		if len(p) == 0 {
			continue
		}
		switch p[0] {
		case MarkBroadcast:
			c.w.onBroadcast(p, full)
		case MarkEcho:
			if j := c.w.echoJob.Load(); j != nil && len(p) >= 5 && binary.BigEndian.Uint32(p[1:5]) == j.id {
				if len(p) != j.size {
					j.fail(c)
					continue
				}
				j.reply(c)
			}
		}
	}
}

// rawReadMax is the read buffer a raw connection moves to once it takes
// part in an echo of larger messages than its first 2 KiB buffer.
const rawReadMax = 256 << 10

// readRaw counts echoed bytes: a message is back once size bytes came back.
func (c *client) readRaw() error {
	buf := make([]byte, 2048)
	got := 0
	for {
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		j := c.w.echoJob.Load()
		if j == nil {
			got = 0
			continue
		}
		if j.size > len(buf) && len(buf) < rawReadMax {
			buf = make([]byte, rawReadMax) // fewer reads per large message
		}
		got += n
		for got >= j.size {
			got -= j.size
			j.reply(c)
		}
	}
}

// echoJob is one echo op: every involved connection sends msgs messages,
// the next when the previous came back.
type echoJob struct {
	w        *worker
	id       uint32
	size     int
	record   bool
	frames   [][]byte // JSON documents, framed (shared by the connections)
	deadline int64    // w.now() after which no new message is sent
	hists    [16]histo.H
	done     atomic.Int64
	errs     atomic.Int64
	pending  atomic.Int64 // connections not finished
	finished chan struct{}
}

// next returns the frame c sends next: its own frame, or with JSON
// documents the next of the job's frames, each connection starting at a
// different one.
func (j *echoJob) next(c *client) []byte {
	if j.frames == nil {
		return *c.frame.Load()
	}
	k := c.sends.Add(1)
	return j.frames[(c.shard+int(k))%len(j.frames)]
}

func (j *echoJob) reply(c *client) {
	now := j.w.now()
	if j.record {
		j.hists[c.shard%len(j.hists)].Record(time.Duration(now - c.sentAt.Load()))
	}
	j.done.Add(1)
	j.w.progress.Add(1)
	if c.left.Add(-1) > 0 && now < j.deadline {
		c.sentAt.Store(j.w.now())
		if err := c.WriteRaw(j.next(c)); err == nil {
			return
		}
		j.errs.Add(1)
	}
	c.left.Store(0)
	if j.pending.Add(-1) == 0 {
		close(j.finished)
	}
}

// fail ends c's part in the job: its echo came back wrong (its length
// differs from what was sent).
func (j *echoJob) fail(c *client) {
	j.errs.Add(1)
	if c.left.Swap(0) > 0 && j.pending.Add(-1) == 0 {
		close(j.finished)
	}
}

func (w *worker) echo(cmd *Command) Event {
	w.mu.Lock()
	conns := append([]*client(nil), w.conns...)
	w.mu.Unlock()
	if cmd.Conns < len(conns) {
		conns = conns[:cmd.Conns]
	}
	if len(conns) == 0 || cmd.Msgs <= 0 {
		return Event{Ev: "echo"}
	}
	size := max(cmd.Size, 5)
	w.echoSeq++
	timeout := time.Duration(cmd.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = time.Minute
	}
	j := &echoJob{
		w: w, id: w.echoSeq, size: size, record: cmd.Record,
		deadline: w.now() + int64(timeout), finished: make(chan struct{}),
	}
	if cmd.Doc == DocJSON {
		j.frames = docFrames(conns[0], j.id, size)
	} else {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = MarkEcho
		}
		binary.BigEndian.PutUint32(payload[1:5], j.id)
		for _, c := range conns {
			f := c.Frame(wsclient.OpBinary, payload)
			c.frame.Store(&f)
		}
	}
	for _, c := range conns {
		c.left.Store(int64(cmd.Msgs))
		c.sends.Store(0)
	}
	tx0, rx0 := w.count.Tx.Load(), w.count.Rx.Load()
	j.pending.Store(int64(len(conns)))
	w.echoJob.Store(j)
	start := w.now()
	for i, c := range conns {
		if i%50 == 49 {
			// spread the opening burst: a thousand packets at once can
			// overflow loopback's per-CPU backlog on a loaded machine
			time.Sleep(100 * time.Microsecond)
		}
		c.sentAt.Store(w.now())
		if err := c.WriteRaw(j.next(c)); err != nil {
			j.errs.Add(1)
			if c.left.Swap(0) > 0 && j.pending.Add(-1) == 0 {
				close(j.finished)
			}
		}
	}
	var errText string
	select {
	case <-j.finished:
	case <-time.After(timeout + 5*time.Second):
		errText = fmt.Sprintf("echo: %d connections did not finish in %v", j.pending.Load(), timeout)
	}
	elapsed := w.now() - start
	w.echoJob.Store(nil)
	tx, rx := w.count.Tx.Load()-tx0, w.count.Rx.Load()-rx0
	var h histo.H
	for i := range j.hists {
		h.Merge(&j.hists[i])
	}
	snap := h.Snapshot()
	return Event{Ev: "echo", Msgs: j.done.Load(), ElapsedNS: elapsed, Hist: &snap, Count: j.errs.Load(), Err: errText, Tx: tx, Rx: rx}
}

// stall has cmd.Conns connections each write the header of a binary frame
// declaring cmd.Size bytes and all of its payload but the last byte, and
// then leave the frame open for good (wsclient.Conn.WritePartial): the
// server holds an incomplete message per connection. Each write must end
// within cmd.TimeoutMS (a server that stops reading fails it). The event
// reports the connections that sent it all (OK) and those that did not.
func (w *worker) stall(cmd *Command) Event {
	if w.cfg.Raw {
		return Event{Ev: "stalled", Err: "stall needs WebSocket framing"}
	}
	w.mu.Lock()
	conns := append([]*client(nil), w.conns...)
	w.mu.Unlock()
	if cmd.Conns < len(conns) {
		conns = conns[:cmd.Conns]
	}
	size := max(cmd.Size, 2)
	timeout := time.Duration(cmd.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = time.Minute
	}
	// One frame for every connection: the mask key need only be one the
	// server cannot predict, and this keeps the worker at one copy of it.
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = 's'
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	frame := wsclient.AppendFrame(nil, wsclient.OpBinary, payload, key)
	frame = frame[:len(frame)-1]

	var (
		mu       sync.Mutex
		next     int
		ok, fail int
		firstErr error
		wg       sync.WaitGroup
	)
	// A few writers at a time: each write returns once the kernel has the
	// bytes, which on loopback is once the server read most of them.
	for g := 0; g < min(16, len(conns)); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(conns) {
					return
				}
				c := conns[i]
				nc := c.NetConn()
				_ = nc.SetWriteDeadline(time.Now().Add(timeout))
				err := c.WritePartial(frame)
				_ = nc.SetWriteDeadline(time.Time{})
				mu.Lock()
				if err != nil {
					fail++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					ok++
				}
				mu.Unlock()
				w.progress.Add(1)
			}
		}()
	}
	wg.Wait()
	ev := Event{Ev: "stalled", OK: ok, Fail: fail, Live: w.live()}
	if firstErr != nil {
		ev.Err = fmt.Sprintf("%d of %d partial messages not sent: %v", fail, len(conns), firstErr)
	}
	return ev
}

// bcastHeader is the length of a broadcast's header: marker, sequence
// number, send time.
const bcastHeader = 13

// zheader is a compressed broadcast payload and its inflated header.
type zheader struct {
	z      []byte
	header []byte
}

// bcastHeader returns the inflated header of compressed broadcast payload
// z (without server context takeover). Every subscriber of a publish
// receives the same compressed bytes (a server compresses a publish once,
// or each time with the same deterministic compressor), so the worker
// inflates each distinct payload once and serves the copies that follow
// from that: its CPU goes to reading messages, as in an uncompressed
// broadcast, not to inflating the same bytes thousands of times.
func (w *worker) bcastHeader(c *client, z []byte) ([]byte, error) {
	if last := w.lastZ.Load(); last != nil && bytes.Equal(last.z, z) {
		return last.header, nil
	}
	h, err := c.InflatePrefix(z, bcastHeader)
	if err != nil {
		return nil, err
	}
	w.lastZ.Store(&zheader{z: append([]byte(nil), z...), header: append([]byte(nil), h...)})
	return h, nil
}

// bcast tracks arrivals of the publishes of one broadcast op.
type bcast struct {
	subs  int64
	size  int // of each publish (0: unknown)
	count []atomic.Int64
	max   []atomic.Int64
	bad   atomic.Int64 // publishes inflated in full with the wrong length
}

// onBroadcast records an arrival; full says whether p is the whole message
// (else only its header was inflated).
func (w *worker) onBroadcast(p []byte, full bool) {
	b := w.bcast.Load()
	if b == nil || len(p) < bcastHeader {
		return
	}
	if full && b.size > 0 && len(p) != max(b.size, bcastHeader) {
		b.bad.Add(1)
	}
	seq := int(binary.BigEndian.Uint32(p[1:5]))
	if seq >= len(b.count) {
		return
	}
	d := time.Now().UnixNano() - int64(binary.BigEndian.Uint64(p[5:13]))
	m := &b.max[seq]
	for {
		old := m.Load()
		if d <= old || m.CompareAndSwap(old, d) {
			break
		}
	}
	if n := b.count[seq].Add(1); n == b.subs {
		w.emit(Event{Ev: "got", Seq: seq, MaxNS: m.Load(), Count: n})
	}
}

var errNoPublisher = errors.New("publish: this worker holds no connection")

func (w *worker) publish(seq, size int) error {
	w.mu.Lock()
	var c *client
	if len(w.conns) > 0 {
		c = w.conns[0]
	}
	w.mu.Unlock()
	if c == nil {
		return errNoPublisher
	}
	var p []byte
	if w.cfg.Doc == DocJSON {
		p = jsondoc.Doc(make([]byte, bcastHeader, max(size, bcastHeader)), max(size, bcastHeader)-bcastHeader, uint64(seq))
	} else {
		p = make([]byte, max(size, bcastHeader))
		for i := range p {
			p[i] = 'b'
		}
	}
	p[0] = MarkBroadcast
	binary.BigEndian.PutUint32(p[1:5], uint32(seq))
	binary.BigEndian.PutUint64(p[5:13], uint64(time.Now().UnixNano()))
	return c.WriteFrame(wsclient.OpBinary, p)
}

// Main is `loadgen worker`.
func Main() {
	if err := RunWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// docFrames are the frames of one JSON echo job: docVariety documents of
// size bytes each (the echo marker and job number, then JSON), masked with
// one key and compressed alone where c (like every connection of the
// worker) negotiated permessage-deflate. A client compressing each message
// alone produces these same bytes for each send; compressing each once
// keeps the generator's CPU for reading the replies.
func docFrames(c *client, id uint32, size int) [][]byte {
	var key [4]byte
	_, _ = rand.Read(key[:])
	frames := make([][]byte, docVariety)
	for i := range frames {
		p := make([]byte, 5, size)
		p[0] = MarkEcho
		binary.BigEndian.PutUint32(p[1:5], id)
		p = jsondoc.Doc(p, size-5, uint64(id)<<16|uint64(i))
		if c.Deflate() && size <= c.CompressLimit() {
			frames[i] = wsclient.AppendDeflated(nil, wsclient.OpBinary, p, key)
		} else {
			frames[i] = wsclient.AppendFrame(nil, wsclient.OpBinary, p, key)
		}
	}
	return frames
}

// docVariety is the number of different documents of a JSON echo job.
const docVariety = 64

// handshakes has cmd.Conns goroutines each open a connection (TCP, the TLS
// handshake when configured, the WebSocket upgrade, which also takes in the
// server's TLS 1.3 session tickets), close it at once and open the next,
// until cmd.TimeoutMS passes. Source addresses rotate over a block of its
// own (ports of closed connections are reset, not left in TIME_WAIT). The
// event reports connections opened (Msgs), failures (Count), resumed TLS
// sessions (OK) and the time taken.
func (w *worker) handshakes(cmd *Command) Event {
	dur := time.Duration(cmd.TimeoutMS) * time.Millisecond
	timeout := time.Duration(w.cfg.DialTimeoutMS) * time.Millisecond
	var done, fails, resumed atomic.Int64
	var firstErr atomic.Pointer[string]
	var next atomic.Int64
	start := time.Now()
	end := start.Add(dur)
	var wg sync.WaitGroup
	for g := 0; g < max(1, cmd.Conns); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				i := int(next.Add(1))
				// a fresh source address every 20000 connections
				d := &wsclient.Dialer{Source: w.source(1_000_000 + i%(20*w.cfg.PerSource)), Timeout: timeout, Deflate: w.cfg.Deflate, Count: &w.count, TLS: w.tls}
				c, err := d.Dial(w.cfg.Addr, w.cfg.Path)
				if err != nil {
					fails.Add(1)
					s := err.Error()
					firstErr.CompareAndSwap(nil, &s)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if st := c.TLS(); st != nil && st.DidResume {
					resumed.Add(1)
				}
				_ = c.Close()
				done.Add(1)
				w.progress.Add(1)
			}
		}()
	}
	wg.Wait()
	ev := Event{Ev: "handshake", Msgs: done.Load(), Count: fails.Load(), OK: int(resumed.Load()), ElapsedNS: int64(time.Since(start))}
	if p := firstErr.Load(); p != nil {
		ev.Err = fmt.Sprintf("%d connections failed, the first: %s", fails.Load(), *p)
	}
	return ev
}
