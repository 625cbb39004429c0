// Package suite runs the benchmark: every server program under the same
// load generator, one at a time and interleaved (A B C ... A B C ...), and
// turns the results into docs/benchmarks.md and PNG plots.
package suite

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
)

// Server describes one server program.
type Server struct {
	Name  string // binary name under BinDir
	Title string // as shown in tables
	Raw   bool   // plain TCP (the gnet floor): memory and echo only
}

// Servers are the programs under servers/, switchboard first.
var Servers = []Server{
	{Name: "switchboard", Title: "switchboard"},
	{Name: "gnet", Title: "gnet TCP (floor)", Raw: true},
	{Name: "nbio", Title: "lesismal/nbio"},
	{Name: "gws", Title: "lxzan/gws"},
	{Name: "gorilla", Title: "gorilla/websocket"},
	{Name: "coder", Title: "coder/websocket"},
}

// Config sizes a run.
type Config struct {
	Name    string // "full", "quick", "smoke"
	BinDir  string // server binaries and loadgen
	Servers []Server
	Rounds  int

	Levels []int // idle connections at which memory is read

	EchoConns int
	EchoMsgs  int
	EchoSizes []int

	BcastSubs int
	BcastK    int
	BcastSize int
	BcastGap  time.Duration

	// Large is the large-message echo job: each size in turn, one message
	// in flight per connection, each size bounded by LargeTimeout.
	Large        []LargeEcho
	LargeTimeout time.Duration
	// StallConns connections each send all of a StallSize-byte message but
	// its last byte and stall (WebSocket servers only); 0: no stall job.
	StallConns int
	StallSize  int

	Settle  time.Duration // pause before reading memory at a level
	Timeout time.Duration // bound of each echo run and of each publish

	// Deflate sizes the permessage-deflate jobs (kind "deflate").
	Deflate DeflateConfig
	// TLS sizes the wss:// jobs (kind "tls").
	TLS TLSConfig

	// Jobs, when not empty, limits the run to these kinds of job (see
	// JobKinds, "profile" for the heap profiles, "deflate" for the
	// permessage-deflate jobs and "tls" for the wss:// jobs).
	Jobs []string

	// ProfileConns is the number of idle connections of the heap-profile
	// jobs that close the run (every allocation recorded, not measured
	// otherwise); 0: none.
	ProfileConns   int
	ProfileServers []string

	// CalmWait bounds how long to wait before each job for the rest of the
	// machine to go quiet (other processes using under CalmCPU of it);
	// CalmTotal bounds all those waits together. 0: do not wait.
	CalmWait  time.Duration
	CalmTotal time.Duration
	CalmCPU   float64

	OutDir   string    // logs, heap profiles, results.json
	Progress io.Writer `json:"-"`
}

// Full is `make bench`: under 15 minutes on 2 cores.
func Full() Config {
	return Config{
		Name: "full", Rounds: 3,
		Levels:    []int{1000, 5000, 10000, 19000},
		EchoConns: 1000, EchoMsgs: 200, EchoSizes: []int{64, 1024},
		BcastSubs: 10000, BcastK: 40, BcastSize: 64, BcastGap: 20 * time.Millisecond,
		Large: []LargeEcho{{64 << 10, 8, 1000}, {1 << 20, 8, 80}, {16 << 20, 2, 10}}, LargeTimeout: 20 * time.Second,
		StallConns: 500, StallSize: 1 << 20,
		Settle: 500 * time.Millisecond, Timeout: 60 * time.Second,
		ProfileConns: 10000, ProfileServers: []string{"switchboard", "gnet"},
		Deflate: fullDeflate(), TLS: fullTLS(),
		CalmWait: 30 * time.Second, CalmTotal: 3 * time.Minute, CalmCPU: 0.25,
	}
}

// Quick is `make bench-quick`: under 2 minutes.
func Quick() Config {
	return Config{
		Name: "quick", Rounds: 1,
		Levels:    []int{1000, 5000},
		EchoConns: 1000, EchoMsgs: 30, EchoSizes: []int{64, 1024},
		BcastSubs: 2000, BcastK: 10, BcastSize: 64, BcastGap: 10 * time.Millisecond,
		Large: []LargeEcho{{64 << 10, 8, 50}, {1 << 20, 8, 8}, {16 << 20, 2, 2}}, LargeTimeout: 15 * time.Second,
		StallConns: 100, StallSize: 1 << 20,
		Settle: 200 * time.Millisecond, Timeout: 30 * time.Second,
		ProfileConns: 5000, ProfileServers: []string{"switchboard"},
		Deflate: quickDeflate(), TLS: quickTLS(),
		CalmWait: 5 * time.Second, CalmTotal: 20 * time.Second, CalmCPU: 0.25,
	}
}

// Smoke is the tiny run `make test` does.
func Smoke() Config {
	return Config{
		Name: "smoke", Rounds: 1,
		Levels:    []int{20},
		EchoConns: 20, EchoMsgs: 5, EchoSizes: []int{64},
		BcastSubs: 20, BcastK: 3, BcastSize: 64, BcastGap: time.Millisecond,
		Large: []LargeEcho{{64 << 10, 1, 1}, {1 << 20, 1, 1}}, LargeTimeout: 10 * time.Second,
		StallConns: 5, StallSize: 1 << 20,
		Settle: 10 * time.Millisecond, Timeout: 10 * time.Second,
		ProfileConns: 20, ProfileServers: []string{"switchboard"},
		Deflate: smokeDeflate(), TLS: smokeTLS(),
	}
}

// MemPoint is memory at one level, relative to the zero-connection base.
type MemPoint struct {
	Conns      int     `json:"conns"` // held by the server when read
	RSSPer     float64 `json:"rss_per"`
	HeapPer    float64 `json:"heap_per"`
	StackPer   float64 `json:"stack_per"`
	RSS        uint64  `json:"rss"`
	HeapInuse  uint64  `json:"heap_inuse"`
	StackInuse uint64  `json:"stack_inuse"`
	Goroutines int     `json:"goroutines"`
}

// MemRun is one memory job.
type MemRun struct {
	Server   string     `json:"server"`
	Round    int        `json:"round"`
	BaseRSS  uint64     `json:"base_rss"`
	BaseHeap uint64     `json:"base_heap"`
	Points   []MemPoint `json:"points"`
	Err      string     `json:"err,omitempty"`
}

// EchoPoint is one echo measurement.
type EchoPoint struct {
	Size   int     `json:"size"`
	Conns  int     `json:"conns"`
	Msgs   int64   `json:"msgs"`
	Rate   float64 `json:"rate"` // round trips per second
	P50    int64   `json:"p50_ns"`
	P99    int64   `json:"p99_ns"`
	Max    int64   `json:"max_ns"`
	Errors int64   `json:"errors"`
	// CPUPerMsg is the server's CPU time (user + system) per round trip, ns:
	// unlike messages/s it does not depend on what else the machine runs.
	CPUPerMsg float64 `json:"cpu_per_msg_ns"`
}

// EchoRun is one echo job.
type EchoRun struct {
	Server string      `json:"server"`
	Round  int         `json:"round"`
	Points []EchoPoint `json:"points"`
	Err    string      `json:"err,omitempty"`
}

// BcastRun is one broadcast job.
type BcastRun struct {
	Server      string `json:"server"`
	Round       int    `json:"round"`
	Subscribers int    `json:"subscribers"`
	Publishes   int    `json:"publishes"`
	Complete    int    `json:"complete"`
	Lost        int    `json:"lost"`
	P50         int64  `json:"p50_ns"`
	P99         int64  `json:"p99_ns"`
	Max         int64  `json:"max_ns"`
	// CPUPerDelivery is the server's CPU time per message delivered to one
	// subscriber, ns.
	CPUPerDelivery float64 `json:"cpu_per_delivery_ns"`
	Err            string  `json:"err,omitempty"`
}

// Results is everything a run measured.
type Results struct {
	Config  Config       `json:"config"`
	Env     Env          `json:"env"`
	Started time.Time    `json:"started"`
	Took    float64      `json:"took_s"`
	Mem     []MemRun     `json:"mem"`
	Echo    []EchoRun    `json:"echo"`
	Bcast   []BcastRun   `json:"bcast"`
	Large   []LargeRun   `json:"large,omitempty"`
	Stall   []StallRun   `json:"stall,omitempty"`
	Order   []string     `json:"order"` // jobs in the order run
	Heap    []HeapReport `json:"heap,omitempty"`
	Health  []Health     `json:"health"`
	// Deflate holds the permessage-deflate jobs (nil: not run), with the
	// command and time of their own run (see Merge).
	Deflate *DeflateResults `json:"deflate,omitempty"`
	// TLS holds the wss:// jobs (nil: not run), likewise.
	TLS *TLSResults `json:"tls,omitempty"`
}

// JobKinds are the kinds of job a round runs, in order; "profile" (the
// heap profiles after the rounds) is the one other kind Config.Jobs names.
var JobKinds = []string{"mem", "echo", "bcast", "large", "stall"}

// runs says whether the run includes jobs of kind.
func (c Config) runs(kind string) bool {
	if len(c.Jobs) == 0 {
		return true
	}
	for _, k := range c.Jobs {
		if k == kind {
			return true
		}
	}
	return false
}

type job struct {
	kind   string // one of JobKinds
	server Server
	round  int
}

// Run runs every job of cfg.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if len(cfg.Servers) == 0 {
		cfg.Servers = Servers
	}
	if err := os.MkdirAll(filepath.Join(cfg.OutDir, "logs"), 0o755); err != nil {
		return nil, err
	}
	res := &Results{Config: cfg, Env: ReadEnv(cfg.BinDir, cfg.Servers), Started: time.Now()}
	var jobs []job
	for r := 0; r < cfg.Rounds; r++ {
		// rotate the order each round so no server always runs first
		order := append(append([]Server(nil), cfg.Servers[r%len(cfg.Servers):]...), cfg.Servers[:r%len(cfg.Servers)]...)
		for _, kind := range JobKinds {
			if !cfg.runs(kind) || (kind == "large" && len(cfg.Large) == 0) || (kind == "stall" && cfg.StallConns <= 0) {
				continue
			}
			for _, s := range order {
				if (kind == "bcast" || kind == "stall") && s.Raw {
					continue
				}
				jobs = append(jobs, job{kind, s, r + 1})
			}
		}
	}
	var waited time.Duration
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		others, w := waitCalm(cfg, cfg.CalmTotal-waited)
		waited += w
		addr, err := freeAddr()
		if err != nil {
			return res, err
		}
		// a fresh block of source addresses per job: no port of an earlier
		// job's connections can be in the way
		src := fmt.Sprintf("127.0.%d.2", 1+i%250)
		tag := fmt.Sprintf("r%d-%s-%s", j.round, j.kind, j.server.Name)
		res.Order = append(res.Order, tag)
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "[%d/%d] round %d: %s %s\n", i+1, len(jobs), j.round, j.kind, j.server.Name)
		}
		net0 := readNet()
		var args []string
		if j.kind == "large" || j.kind == "stall" {
			args = largeArgs
		}
		srv, err := startServer(filepath.Join(cfg.BinDir, j.server.Name), j.server.Name, addr, filepath.Join(cfg.OutDir, "logs", tag+".log"), args, nil)
		if err != nil {
			return res, err
		}
		opts := load.Options{
			Bin: filepath.Join(cfg.BinDir, "loadgen"), Addr: addr, Raw: j.server.Raw, SrcBase: src,
			Progress: cfg.Progress, Label: "  " + j.server.Name,
		}
		if !j.server.Raw {
			// keeps alive the servers whose heartbeat is a read deadline
			// (gws, nbio); switchboard counts it as liveness too
			opts.PingEvery = 20 * time.Second
		}
		switch j.kind {
		case "mem":
			run := memJob(ctx, cfg, srv, opts, j)
			res.Mem = append(res.Mem, run)
		case "echo":
			res.Echo = append(res.Echo, echoJob(ctx, cfg, srv, opts, j))
		case "bcast":
			res.Bcast = append(res.Bcast, bcastJob(ctx, cfg, srv, opts, j))
		case "large":
			res.Large = append(res.Large, largeJob(ctx, cfg, srv, opts, j))
		case "stall":
			res.Stall = append(res.Stall, stallJob(ctx, cfg, srv, opts, j))
		}
		srv.stop()
		h := jobHealth(tag, others, w, net0)
		res.Health = append(res.Health, h)
		if h.spoiled() && j.kind != "mem" {
			cfg.note("machine: %d loopback packets dropped, %d retransmission timeouts during this job (load %s): its timings may suffer", h.Drops, h.RTOs, h.Load)
		}
	}
	if cfg.runs("deflate") {
		if err := runDeflate(ctx, cfg, res); err != nil {
			return res, err
		}
	}
	if cfg.runs("tls") {
		if err := runTLS(ctx, cfg, res); err != nil {
			return res, err
		}
	}
	for _, name := range cfg.ProfileServers {
		if cfg.ProfileConns <= 0 || !cfg.runs("profile") {
			break
		}
		for _, s := range cfg.Servers {
			if s.Name == name {
				if h, err := profileJob(ctx, cfg, s); err != nil {
					cfg.note("heap profile of %s: %v", name, err)
				} else {
					res.Heap = append(res.Heap, h)
				}
			}
		}
	}
	res.Took = time.Since(res.Started).Seconds()
	res.Env.LoadEnd = loadAvg()
	if b, err := jsonMarshal(res); err == nil {
		_ = os.WriteFile(filepath.Join(cfg.OutDir, "results.json"), b, 0o644)
	}
	return res, nil
}

// freeAddr returns a loopback address with a port nothing listens on, so
// no job's connections share a 4-tuple with an earlier job's.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (c Config) note(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "  "+format+"\n", args...)
	}
}

func memJob(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, j job) (run MemRun) {
	run = MemRun{Server: j.server.Name, Round: j.round}
	fail := func(err error) MemRun {
		run.Err = err.Error()
		cfg.note("%s: %v", j.server.Name, err)
		return run
	}
	base, err := warmBase(ctx, cfg, srv, opts, min(100, cfg.Levels[0]))
	if err != nil {
		return fail(err)
	}
	run.BaseRSS, run.BaseHeap = base.RSS, base.HeapInuse

	pool := load.NewPool(opts)
	defer pool.Close()
	for _, n := range cfg.Levels {
		if _, err := pool.Grow(ctx, n); err != nil {
			return fail(err)
		}
		if _, err := srv.waitConns(pool.Live(), 60*time.Second); err != nil {
			return fail(err)
		}
		time.Sleep(cfg.Settle)
		if _, err := srv.mem(); err != nil {
			return fail(err)
		}
		time.Sleep(cfg.Settle / 2)
		m, err := srv.mem()
		if err != nil {
			return fail(err)
		}
		if m.Conns <= 0 {
			return fail(fmt.Errorf("no connections held at level %d", n))
		}
		c := float64(m.Conns)
		run.Points = append(run.Points, MemPoint{
			Conns:      int(m.Conns),
			RSSPer:     (float64(m.RSS) - float64(base.RSS)) / c,
			HeapPer:    (float64(m.HeapInuse) - float64(base.HeapInuse)) / c,
			StackPer:   (float64(m.StackInuse) - float64(base.StackInuse)) / c,
			RSS:        m.RSS,
			HeapInuse:  m.HeapInuse,
			StackInuse: m.StackInuse,
			Goroutines: m.Goroutines,
		})
		cfg.note("%s at %d: %.0f B RSS, %.0f B heap per connection", j.server.Name, m.Conns, run.Points[len(run.Points)-1].RSSPer, run.Points[len(run.Points)-1].HeapPer)
	}
	return run
}

// warmBase warms the server up with n connections and a few echoes, so
// lazily built state (pools, loop buffers, the HTTP server) is in the
// baseline, closes them, and returns the memory baseline (after a GC).
func warmBase(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, n int) (ctl.Mem, error) {
	if err := settleHeap(srv, cfg.Settle, 10*time.Second); err != nil {
		return ctl.Mem{}, err
	}
	warm := load.NewPool(opts)
	if _, err := warm.Grow(ctx, n); err != nil {
		warm.Close()
		return ctl.Mem{}, err
	}
	if _, err := warm.Echo(ctx, n, 5, 64, cfg.Timeout, false); err != nil {
		warm.Close()
		return ctl.Mem{}, err
	}
	warm.Close()
	if _, err := srv.waitConns(0, 30*time.Second); err != nil {
		return ctl.Mem{}, err
	}
	time.Sleep(cfg.Settle)
	if _, err := srv.mem(); err != nil {
		return ctl.Mem{}, err
	}
	return srv.mem()
}

// settleHeap waits, at most max, until the server's heap after a GC stops
// moving (four readings, every apart, within 64 KiB): work a server does
// once after it starts must not fall inside a baseline. switchboard's engine,
// for one, reads all of /proc/net/tcp once after boot to check that no
// other process listens on its port; with the tens of thousands of
// sockets of a busy benchmark machine that file is ~8 MB and takes seconds
// to read, and a baseline taken meanwhile was 8 MB too high.
func settleHeap(srv *serverProc, every, max time.Duration) error {
	deadline := time.Now().Add(max)
	prev, err := srv.mem()
	if err != nil {
		return err
	}
	for still := 0; still < 3 && time.Now().Before(deadline); {
		time.Sleep(every)
		m, err := srv.mem()
		if err != nil {
			return err
		}
		if d := int64(m.HeapInuse) - int64(prev.HeapInuse); d < 64<<10 && d > -64<<10 {
			still++
		} else {
			still = 0
		}
		prev = m
	}
	return nil
}

// profileJob holds cfg.ProfileConns idle connections to a server that
// records every allocation, and reads where its heap goes.
func profileJob(ctx context.Context, cfg Config, s Server) (HeapReport, error) {
	h := HeapReport{Server: s.Name}
	addr, err := freeAddr()
	if err != nil {
		return h, err
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "[profile] %s heap at %d idle connections\n", s.Name, cfg.ProfileConns)
	}
	srv, err := startServer(filepath.Join(cfg.BinDir, s.Name), s.Name, addr,
		filepath.Join(cfg.OutDir, "logs", "profile-"+s.Name+".log"), nil, []string{ctl.ProfileRateEnv + "=1"})
	if err != nil {
		return h, err
	}
	defer srv.stop()
	pool := load.NewPool(load.Options{
		Bin: filepath.Join(cfg.BinDir, "loadgen"), Addr: addr, Raw: s.Raw, SrcBase: "127.0.251.2",
		Progress: cfg.Progress, Label: "  " + s.Name,
	})
	defer pool.Close()
	if _, err := pool.Grow(ctx, cfg.ProfileConns); err != nil {
		return h, err
	}
	m, err := srv.waitConns(pool.Live(), 60*time.Second)
	if err != nil {
		return h, err
	}
	prof, err := filepath.Abs(filepath.Join(cfg.OutDir, "heap-"+s.Name+".pprof"))
	if err != nil {
		return h, err
	}
	if _, err := srv.ask("heap " + prof); err != nil {
		return h, err
	}
	h.Conns = int(m.Conns)
	h.Rows, h.Total, err = pprofTop(filepath.Join(cfg.BinDir, s.Name), prof, h.Conns)
	return h, err
}

func echoJob(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, j job) (run EchoRun) {
	run = EchoRun{Server: j.server.Name, Round: j.round}
	pool := load.NewPool(opts)
	defer pool.Close()
	if _, err := pool.Grow(ctx, cfg.EchoConns); err != nil {
		run.Err = err.Error()
		return run
	}
	if _, err := srv.waitConns(pool.Live(), 30*time.Second); err != nil {
		run.Err = err.Error()
		return run
	}
	for _, size := range cfg.EchoSizes {
		if _, err := pool.Echo(ctx, cfg.EchoConns, max(2, cfg.EchoMsgs/10), size, cfg.Timeout, false); err != nil {
			run.Err = err.Error()
			cfg.note("%s: %v", j.server.Name, err)
			return run
		}
		m0, err := srv.ask("stats")
		if err != nil {
			run.Err = err.Error()
			return run
		}
		r, err := pool.Echo(ctx, cfg.EchoConns, cfg.EchoMsgs, size, cfg.Timeout, true)
		m1, _ := srv.ask("stats")
		p := EchoPoint{
			Size: size, Conns: r.Conns, Msgs: r.Msgs, Rate: r.Rate(), Errors: r.Errors,
			P50: int64(r.Hist.Quantile(0.5)), P99: int64(r.Hist.Quantile(0.99)), Max: int64(r.Hist.Quantile(1)),
		}
		if r.Msgs > 0 && m1.CPUNS > m0.CPUNS {
			p.CPUPerMsg = float64(m1.CPUNS-m0.CPUNS) / float64(r.Msgs)
		}
		run.Points = append(run.Points, p)
		cfg.note("%s echo %d B: %.0f msg/s, p50 %v, p99 %v, server CPU %.1f µs/msg", j.server.Name, size, p.Rate, time.Duration(p.P50), time.Duration(p.P99), p.CPUPerMsg/1e3)
		if err != nil {
			run.Err = err.Error()
			return run
		}
	}
	return run
}

// bcastReady grows pool to subs subscribers, waits until the server has
// them, sends three warm-up broadcasts (not recorded) and returns the
// server's stats from before the measured ones.
func bcastReady(ctx context.Context, pool *load.Pool, srv *serverProc, subs, size int, gap, timeout time.Duration) (ctl.Mem, error) {
	if _, err := pool.Grow(ctx, subs); err != nil {
		return ctl.Mem{}, err
	}
	if _, err := srv.waitConns(pool.Live(), 30*time.Second); err != nil {
		return ctl.Mem{}, err
	}
	if _, err := pool.Broadcast(ctx, 3, size, gap, timeout); err != nil {
		return ctl.Mem{}, err
	}
	return srv.ask("stats")
}

func bcastJob(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, j job) (run BcastRun) {
	run = BcastRun{Server: j.server.Name, Round: j.round}
	pool := load.NewPool(opts)
	defer pool.Close()
	m0, err := bcastReady(ctx, pool, srv, cfg.BcastSubs, cfg.BcastSize, cfg.BcastGap, cfg.Timeout)
	if err != nil {
		run.Err = err.Error()
		return run
	}
	r, err := pool.Broadcast(ctx, cfg.BcastK, cfg.BcastSize, cfg.BcastGap, cfg.Timeout)
	m1, _ := srv.ask("stats")
	if r.Arrivals > 0 && m1.CPUNS > m0.CPUNS {
		run.CPUPerDelivery = float64(m1.CPUNS-m0.CPUNS) / float64(r.Arrivals)
	}
	run.Subscribers, run.Publishes, run.Complete, run.Lost = r.Subscribers, r.Publishes, len(r.Completion), r.Lost
	run.P50, run.P99, run.Max = int64(r.Quantile(0.5)), int64(r.Quantile(0.99)), int64(r.Quantile(1))
	if err != nil {
		run.Err = err.Error()
	}
	cfg.note("%s broadcast to %d: p50 %v, p99 %v, lost %d, server CPU %.0f ns/delivery", j.server.Name, r.Subscribers, time.Duration(run.P50), time.Duration(run.P99), run.Lost, run.CPUPerDelivery)
	return run
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
