package load

import (
	"bufio"
	"context"
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
	"github.com/switchboard-ws/switchboard/client"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// RunWorker serves coordinator commands from in, writing events to out,
// until in ends. It is what `loadgen worker` runs.
func RunWorker(in io.Reader, out io.Writer) error {
	w := &worker{enc: json.NewEncoder(out), start: time.Now(), zc: newZcache(), stop: make(chan struct{})}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	go w.progressLoop(w.stop)
	defer close(w.stop)
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
	if w.cl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = w.cl.Close(ctx)
		cancel()
	}
	return sc.Err()
}

type worker struct {
	outMu sync.Mutex
	enc   *json.Encoder
	start time.Time

	cfg    Command
	tls    *tls.Config // nil: plain ws://
	url    string
	cl     *client.Client
	dialer *client.Dialer

	mu      sync.Mutex
	conns   []*conn
	stalled []*stalledConn
	recv    []*recvConn // raw receivers of a compressed broadcast (recv.go)

	zc       *zcache       // recv.go
	stop     chan struct{} // closed as RunWorker returns
	pingOnce sync.Once     // starts pingReceivers

	progress  atomic.Int64
	reporting atomic.Bool
	echoJob   atomic.Pointer[echoJob]
	echoSeq   uint32
	bcast     atomic.Pointer[bcast]
	readers   sync.WaitGroup // raw, stalled and receiver connections' reader goroutines
	rawRx     atomic.Int64   // socket bytes of raw connections
	rawTx     atomic.Int64
	resumed   atomic.Int64 // TLS handshakes that resumed a session
}

// conn is one connection of the worker: a package client connection (its
// Handler: every event runs on the client's event loop), or in raw mode a
// net.Conn with a reader goroutine.
type conn struct {
	c       *client.Conn // WebSocket
	nc      net.Conn     // raw mode
	w       *worker
	shard   int          // its number: source address, histogram, first document
	sentAt  atomic.Int64 // ns since w.start of the echo in flight
	left    atomic.Int64 // echoes still to send in the current job
	sends   atomic.Int64 // messages sent in the current echo job (JSON docs)
	closing atomic.Bool
}

// stalledConn is a connection that sent a partial message (see stall).
type stalledConn struct {
	c       *wstest.Client
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
	return len(w.conns) + len(w.stalled) + len(w.recv)
}

// traffic is the socket bytes the worker's connections read and wrote
// (after their handshakes).
func (w *worker) traffic() (rx, tx int64) {
	if w.cl != nil {
		rx, tx = w.cl.Traffic()
	}
	return rx + w.rawRx.Load(), tx + w.rawTx.Load()
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
		b := &bcast{subs: subs, size: cmd.Size, count: make([]atomic.Int64, cmd.K), max: make([]atomic.Int64, cmd.K), hits0: w.zc.hits.Load()}
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
			ev.Shared = w.zc.hits.Load() - b.hits0
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
		w.tls = &tls.Config{RootCAs: roots, ServerName: host,
			// runs for every handshake, resumed ones included: how the
			// handshake op counts resumptions
			VerifyConnection: func(cs tls.ConnectionState) error {
				if cs.DidResume {
					w.resumed.Add(1)
				}
				return nil
			},
		}
		if w.cfg.TLSResume {
			w.tls.ClientSessionCache = tls.NewLRUClientSessionCache(64)
		}
	}
	if w.cfg.Raw {
		w.emit(Event{Ev: "ok"})
		return nil
	}
	comp, err := compression(w.cfg.Deflate)
	if err != nil {
		return err
	}
	if w.cl == nil {
		if w.cl, err = client.New(client.Config{}); err != nil {
			return err
		}
	}
	w.url = "ws://" + w.cfg.Addr + w.cfg.Path
	if w.tls != nil {
		w.url = "wss://" + w.cfg.Addr + w.cfg.Path
	}
	w.dialer = &client.Dialer{
		Client:         w.cl,
		NetDialContext: NetDial,
		Compression:    comp,
		// compress every message that gets smaller (as servers do with
		// their own threshold): the generator's old behaviour
		DeflateThreshold: 1,
		TLSConfig:        w.tls,
		HandshakeTimeout: time.Duration(w.cfg.DialTimeoutMS) * time.Millisecond,
		MaxMessageSize:   maxMessage,
		MaxOutbound:      maxMessage,
		// Servers whose heartbeat is a read deadline need traffic from
		// the client: a ping after PingEveryMS without a frame from the
		// server, and no pong deadline (a busy server is not a dead one).
		PingInterval: -1,
		PongTimeout:  -1,
	}
	if w.cfg.PingEveryMS > 0 {
		w.dialer.PingInterval = time.Duration(w.cfg.PingEveryMS) * time.Millisecond
	}
	w.emit(Event{Ev: "ok"})
	return nil
}

// maxMessage bounds a message either way (the large-message echo sends 16
// MiB).
const maxMessage = 64 << 20

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

// dial opens connection number i: a package client connection whose
// events go to wc, or a raw TCP one.
func (w *worker) dial(i int, wc *conn) error {
	ctx, cancel := context.WithTimeout(WithSource(context.Background(), w.source(i)), time.Duration(w.cfg.DialTimeoutMS)*time.Millisecond)
	defer cancel()
	if w.cfg.Raw {
		nc, err := NetDial(ctx, "tcp", w.cfg.Addr)
		if err != nil {
			return err
		}
		wc.nc = nc
		return nil
	}
	c, err := w.dialer.Dial(ctx, w.url, wc)
	if err != nil {
		return err
	}
	if err := agreed(c, w.cfg.Deflate); err != nil {
		_ = c.Abort()
		return err
	}
	wc.c = c
	return nil
}

func (w *worker) connect(first, n int) (ok, fail int, firstErr error) {
	var mu sync.Mutex
	next := first
	end := first + n
	var wg sync.WaitGroup
	conc := min(w.cfg.DialConc, n)
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
				var wc *conn
				var rc *recvConn
				var err error
				for try := 0; try < 3; try++ {
					if w.rawReceiver(i) {
						rc, err = w.dialReceiver(i)
					} else {
						wc = &conn{w: w, shard: i}
						err = w.dial(i, wc)
					}
					if err == nil {
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
				if rc != nil {
					w.mu.Lock()
					w.recv = append(w.recv, rc)
					w.mu.Unlock()
					w.readers.Add(1)
					go rc.read()
					if w.cfg.PingEveryMS > 0 {
						w.pingOnce.Do(func() { go w.pingReceivers(time.Duration(w.cfg.PingEveryMS)*time.Millisecond, w.stop) })
					}
					w.progress.Add(1)
					continue
				}
				w.mu.Lock()
				w.conns = append(w.conns, wc)
				w.mu.Unlock()
				if wc.nc != nil {
					w.readers.Add(1)
					go wc.readRaw()
				}
				w.progress.Add(1)
			}
		}()
	}
	wg.Wait()
	return ok, fail, firstErr
}

// closeAll closes every connection with a reset (SO_LINGER 0, set by
// NetDial) and waits until they are gone.
func (w *worker) closeAll() {
	w.mu.Lock()
	conns, stalled, recv := w.conns, w.stalled, w.recv
	w.conns, w.stalled, w.recv = nil, nil, nil
	w.mu.Unlock()
	for _, c := range conns {
		c.closing.Store(true)
		if c.nc != nil {
			_ = c.nc.Close()
		} else {
			_ = c.c.Abort()
		}
	}
	for _, s := range stalled {
		s.closing.Store(true)
		_ = CloseStalled(s.c)
	}
	for _, r := range recv {
		r.closing.Store(true)
		_ = CloseStalled(r.c)
	}
	w.readers.Wait()
	for end := time.Now().Add(10 * time.Second); w.cl != nil && w.cl.Conns() > 0 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
}

// dropped removes a connection the server closed.
func (w *worker) dropped(c *conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conns = removeSwap(w.conns, c)
}

// droppedStalled removes a stalled connection the server closed.
func (w *worker) droppedStalled(s *stalledConn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stalled = removeSwap(w.stalled, s)
}

// OnOpen is part of client.Handler.
func (c *conn) OnOpen(*client.Conn) {}

// OnClose is part of client.Handler: a connection the server (or the
// network) closed leaves the worker; the coordinator sees it in Live.
func (c *conn) OnClose(*client.Conn, error) {
	if !c.closing.Load() {
		c.w.dropped(c)
	}
}

// OnMessage is part of client.Handler. It runs on the client's event loop
// as the message is delivered (inflated, if it came compressed): that is
// where arrival times are taken, and where the next echo is written.
func (c *conn) OnMessage(_ *client.Conn, _ client.MessageType, p []byte) {
	if len(p) == 0 {
		return
	}
	switch p[0] {
	case MarkBroadcast:
		c.w.onBroadcast(p, true)
	case MarkEcho:
		if j := c.w.echoJob.Load(); j != nil && len(p) >= 5 && binary.BigEndian.Uint32(p[1:5]) == j.id {
			if len(p) != j.size {
				j.fail(c)
				return
			}
			j.reply(c)
		}
	}
}

// send writes one message: a binary message, or p as is in raw mode.
func (c *conn) send(p []byte) error {
	if c.nc != nil {
		n, err := c.nc.Write(p)
		c.w.rawTx.Add(int64(n))
		return err
	}
	return c.c.WriteBinary(p)
}

// rawReadMax is the read buffer a raw connection moves to once it takes
// part in an echo of larger messages than its first 2 KiB buffer.
const rawReadMax = 256 << 10

// readRaw counts echoed bytes: a message is back once size bytes came
// back. It ends when the connection does.
func (c *conn) readRaw() {
	defer c.w.readers.Done()
	buf := make([]byte, 2048)
	got := 0
	for {
		n, err := c.nc.Read(buf)
		c.w.rawRx.Add(int64(n))
		if err != nil {
			if !c.closing.Load() {
				c.w.dropped(c)
				_ = c.nc.Close()
			}
			return
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
	payload  []byte   // the message (bytes of one value), shared
	docs     [][]byte // or JSON documents, shared by the connections
	deadline int64    // w.now() after which no new message is sent
	hists    [16]histo.H
	done     atomic.Int64
	errs     atomic.Int64
	pending  atomic.Int64 // connections not finished
	finished chan struct{}
}

// next returns the message c sends next: the job's payload, or with JSON
// documents the next of the job's documents, each connection starting at
// a different one. The client copies it (and compresses it when the
// session negotiated permessage-deflate): it is never written to.
func (j *echoJob) next(c *conn) []byte {
	if j.docs == nil {
		return j.payload
	}
	k := c.sends.Add(1)
	return j.docs[(c.shard+int(k))%len(j.docs)]
}

// reply records a round trip of c and sends its next message; it runs
// where the echo was delivered (the client's message callback, or the raw
// reader).
func (j *echoJob) reply(c *conn) {
	now := j.w.now()
	if j.record {
		j.hists[c.shard%len(j.hists)].Record(time.Duration(now - c.sentAt.Load()))
	}
	j.done.Add(1)
	j.w.progress.Add(1)
	if c.left.Add(-1) > 0 && now < j.deadline {
		c.sentAt.Store(j.w.now())
		if err := c.send(j.next(c)); err == nil {
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
func (j *echoJob) fail(c *conn) {
	j.errs.Add(1)
	if c.left.Swap(0) > 0 && j.pending.Add(-1) == 0 {
		close(j.finished)
	}
}

func (w *worker) echo(cmd *Command) Event {
	w.mu.Lock()
	conns := append([]*conn(nil), w.conns...)
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
		j.docs = docs(j.id, size)
	} else {
		j.payload = make([]byte, size)
		for i := range j.payload {
			j.payload[i] = MarkEcho
		}
		binary.BigEndian.PutUint32(j.payload[1:5], j.id)
	}
	for _, c := range conns {
		c.left.Store(int64(cmd.Msgs))
		c.sends.Store(0)
	}
	rx0, tx0 := w.traffic()
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
		if err := c.send(j.next(c)); err != nil {
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
	rx1, tx1 := w.traffic()
	var h histo.H
	for i := range j.hists {
		h.Merge(&j.hists[i])
	}
	snap := h.Snapshot()
	return Event{Ev: "echo", Msgs: j.done.Load(), ElapsedNS: elapsed, Hist: &snap, Count: j.errs.Load(), Err: errText, Tx: tx1 - tx0, Rx: rx1 - rx0}
}

// stall has cmd.Conns connections each write the header of a binary frame
// declaring cmd.Size bytes and all of its payload but the last byte, and
// then leave the frame open for good: the server holds an incomplete
// message per connection. Package client never leaves a frame open, so
// each of those connections is replaced by a raw one (internal/wstest)
// from the same source address: the package client connection is closed
// and the raw one dialled and written. Each write must end within
// cmd.TimeoutMS (a server that stops reading fails it). The event reports
// the connections that sent it all (OK) and those that did not.
func (w *worker) stall(cmd *Command) Event {
	if w.cfg.Raw {
		return Event{Ev: "stalled", Err: "stall needs WebSocket framing"}
	}
	w.mu.Lock()
	conns := w.conns
	n := min(cmd.Conns, len(conns))
	// the connections to replace leave the list now
	take := append([]*conn(nil), conns[len(conns)-n:]...)
	w.conns = conns[:len(conns)-n]
	w.mu.Unlock()
	timeout := time.Duration(cmd.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = time.Minute
	}
	dialTimeout := time.Duration(w.cfg.DialTimeoutMS) * time.Millisecond
	// One frame for every connection: the mask key need only be one the
	// server cannot predict, and this keeps the worker at one copy of it.
	frame := PartialFrame(cmd.Size)

	var (
		mu       sync.Mutex
		next     int
		ok, fail int
		firstErr error
		wg       sync.WaitGroup
	)
	// A few writers at a time: each write returns once the kernel has the
	// bytes, which on loopback is once the server read most of them.
	for g := 0; g < min(16, len(take)); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(take) {
					return
				}
				old := take[i]
				old.closing.Store(true)
				_ = old.c.Abort()
				err := w.stallOne(old.shard, frame, dialTimeout, timeout)
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
		ev.Err = fmt.Sprintf("%d of %d partial messages not sent: %v", fail, len(take), firstErr)
	}
	return ev
}

// stallOne dials a raw connection as connection number i and writes frame
// on it; the connection stays (in w.stalled) until the worker closes it or
// the server does.
func (w *worker) stallOne(i int, frame []byte, dialTimeout, writeTimeout time.Duration) error {
	var c *wstest.Client
	var err error
	for try := 0; try < 3; try++ {
		if c, err = DialStalled(w.cfg.Addr, w.cfg.Path, w.source(i), w.tls, dialTimeout, writeTimeout); err == nil {
			break
		}
		time.Sleep(time.Duration(50*(try+1)) * time.Millisecond)
	}
	if err != nil {
		return err
	}
	s := &stalledConn{c: c}
	w.mu.Lock()
	w.stalled = append(w.stalled, s)
	w.mu.Unlock()
	w.readers.Add(1)
	go func() {
		defer w.readers.Done()
		_ = WaitStalled(c)
		if !s.closing.Load() {
			w.droppedStalled(s)
			_ = CloseStalled(c)
		}
	}()
	return c.WriteRaw(frame)
}

// bcastHeader is the length of a broadcast's header: marker, sequence
// number, send time.
const bcastHeader = 13

// bcast tracks arrivals of the publishes of one broadcast op.
type bcast struct {
	subs  int64
	size  int // of each publish (0: unknown)
	count []atomic.Int64
	max   []atomic.Int64
	bad   atomic.Int64 // arrivals inflated in full (or not compressed) with the wrong length
	hits0 int64        // w.zc.hits at the start
}

// onBroadcast records an arrival as the message is delivered: on the
// client's event loop (inflated in full, if it came compressed), or on a
// raw receiver's reader goroutine. full says whether p is the whole
// message (else the header of a compressed copy served from the zcache).
func (w *worker) onBroadcast(p []byte, full bool) {
	b := w.bcast.Load()
	if b == nil || len(p) < bcastHeader || p[0] != MarkBroadcast {
		return
	}
	d := time.Now().UnixNano() - int64(binary.BigEndian.Uint64(p[5:13]))
	if full && b.size > 0 && len(p) != max(b.size, bcastHeader) {
		b.bad.Add(1)
	}
	seq := int(binary.BigEndian.Uint32(p[1:5]))
	if seq >= len(b.count) {
		return
	}
	m := &b.max[seq]
	for {
		old := m.Load()
		if d <= old || m.CompareAndSwap(old, d) {
			break
		}
	}
	if n := b.count[seq].Add(1); n == b.subs {
		// off the loop: the coordinator's pipe may be slow to drain
		go w.emit(Event{Ev: "got", Seq: seq, MaxNS: m.Load(), Count: n})
	}
}

var errNoPublisher = errors.New("publish: this worker holds no connection")

func (w *worker) publish(seq, size int) error {
	w.mu.Lock()
	var c *conn
	var rc *recvConn
	if len(w.conns) > 0 {
		c = w.conns[0]
	} else if len(w.recv) > 0 {
		rc = w.recv[0]
	}
	w.mu.Unlock()
	if c == nil && rc == nil {
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
	if rc != nil {
		return rc.c.WriteBinary(p) // uncompressed: a server takes either
	}
	return c.send(p)
}

// Main is `loadgen worker`.
func Main() {
	if err := RunWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// docs are the messages of one JSON echo job: docVariety documents of size
// bytes each (the echo marker and job number, then JSON).
func docs(id uint32, size int) [][]byte {
	out := make([][]byte, docVariety)
	for i := range out {
		p := make([]byte, 5, size)
		p[0] = MarkEcho
		binary.BigEndian.PutUint32(p[1:5], id)
		out[i] = jsondoc.Doc(p, size-5, uint64(id)<<16|uint64(i))
	}
	return out
}

// docVariety is the number of different documents of a JSON echo job.
const docVariety = 64

// handshakes has cmd.Conns goroutines each open a connection (TCP, the TLS
// handshake when configured, the WebSocket upgrade; package client then
// enrolls it on an event loop, which also takes in the server's TLS 1.3
// session tickets), close it at once with a reset and open the next, until
// cmd.TimeoutMS passes. Source addresses rotate over a block of its own
// (ports of closed connections are reset, not left in TIME_WAIT). The event
// reports connections opened (Msgs), failures (Count), resumed TLS sessions
// (OK) and the time taken.
func (w *worker) handshakes(cmd *Command) Event {
	if w.cfg.Raw {
		return Event{Ev: "handshake", Err: "handshakes need WebSocket"}
	}
	dur := time.Duration(cmd.TimeoutMS) * time.Millisecond
	var done, fails atomic.Int64
	var firstErr atomic.Pointer[string]
	var next atomic.Int64
	resumed0 := w.resumed.Load()
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
				ctx, cancel := context.WithTimeout(WithSource(context.Background(), w.source(1_000_000+i%(20*w.cfg.PerSource))),
					time.Duration(w.cfg.DialTimeoutMS)*time.Millisecond)
				c, err := w.dialer.Dial(ctx, w.url, nil)
				cancel()
				if err == nil {
					if err = agreed(c, w.cfg.Deflate); err != nil {
						_ = c.Abort()
					}
				}
				if err != nil {
					fails.Add(1)
					s := err.Error()
					firstErr.CompareAndSwap(nil, &s)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				_ = c.Abort()
				done.Add(1)
				w.progress.Add(1)
			}
		}()
	}
	wg.Wait()
	ev := Event{Ev: "handshake", Msgs: done.Load(), Count: fails.Load(), OK: int(w.resumed.Load() - resumed0), ElapsedNS: int64(time.Since(start))}
	if p := firstErr.Load(); p != nil {
		ev.Err = fmt.Sprintf("%d connections failed, the first: %s", fails.Load(), *p)
	}
	return ev
}

// removeSwap removes x from s, moving the last element into its place
// (order does not matter); s unchanged if x is not in it.
func removeSwap[T comparable](s []T, x T) []T {
	for i, y := range s {
		if y == x {
			var zero T
			s[i] = s[len(s)-1]
			s[len(s)-1] = zero
			return s[:len(s)-1]
		}
	}
	return s
}
