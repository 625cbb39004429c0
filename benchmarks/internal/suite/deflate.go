package suite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
)

// The permessage-deflate jobs (job kind "deflate"): the same servers with
// compression on (-compression), side by side and interleaved, against
// JSON documents (package jsondoc) the load generator compresses and
// inflates (package client, switchboard's public client):
//   - idle: RSS and heap per idle connection with deflate negotiated, after
//     one compressed echo each (so context-takeover windows exist);
//   - echo: messages/s, server CPU per round trip and socket bytes per
//     round trip, for each size;
//   - broadcast: completion time and server CPU per delivery.

// Server-side compression modes (the servers' -compression flag).
const (
	ModeOff       = "off"
	ModeNoContext = "no-context-takeover"
	ModeContext   = "context-takeover"
)

// DeflateVariant is one server with one compression mode and, for
// switchboard, a flate level (its -compression-level; 0: the server's
// default, level 1).
type DeflateVariant struct {
	Server string `json:"server"`
	Mode   string `json:"mode"`
	Level  int    `json:"level,omitempty"`
}

func (v DeflateVariant) String() string {
	if v.Level != 0 {
		return fmt.Sprintf("%s/%s/level%d", v.Server, v.Mode, v.Level)
	}
	return v.Server + "/" + v.Mode
}

// args are the server's command-line flags for v.
func (v DeflateVariant) args() []string {
	a := []string{"-compression", v.Mode}
	if v.Level != 0 {
		a = append(a, "-compression-level", fmt.Sprint(v.Level))
	}
	return a
}

// GWSContextLevel is the flate level gws v1.8.9 compresses at under
// context takeover with a window below 15 bits: it then takes
// klauspost/compress's flate.NewWriterWindow, whose encoder is its level 5
// (fastEncL5Window), whatever gws's Level says. The echo compares
// switchboard with gws at that level too (Config.DeflateLevel 5).
const GWSContextLevel = 5

// DeflateConfig sizes the permessage-deflate jobs; zero Rounds: none.
type DeflateConfig struct {
	Rounds int `json:"rounds"`
	// Idle, Echo and Bcast list the variants of each job, in the order of
	// the first round (rotated in the next ones).
	Idle  []DeflateVariant `json:"idle"`
	Echo  []DeflateVariant `json:"echo"`
	Bcast []DeflateVariant `json:"bcast"`

	IdleConns   int `json:"idle_conns"`
	IdleMsgSize int `json:"idle_msg_size"` // of the one echo each idle connection does first

	EchoConns int   `json:"echo_conns"`
	EchoMsgs  int   `json:"echo_msgs"`
	EchoSizes []int `json:"echo_sizes"`

	BcastSubs int           `json:"bcast_subs"`
	BcastK    int           `json:"bcast_k"`
	BcastSize int           `json:"bcast_size"`
	BcastGap  time.Duration `json:"bcast_gap"`
}

// fullDeflate is the comparison of Full: switchboard uncompressed is the
// floor of each job; gws in both of its modes; nbio in its only one.
func fullDeflate() DeflateConfig {
	sb := func(m string) DeflateVariant { return DeflateVariant{Server: "switchboard", Mode: m} }
	gws := func(m string) DeflateVariant { return DeflateVariant{Server: "gws", Mode: m} }
	nbio := func(m string) DeflateVariant { return DeflateVariant{Server: "nbio", Mode: m} }
	sbAtGWSLevel := DeflateVariant{Server: "switchboard", Mode: ModeContext, Level: GWSContextLevel}
	return DeflateConfig{
		Rounds: 2,
		Idle: []DeflateVariant{sb(ModeOff), sb(ModeNoContext), sb(ModeContext), gws(ModeOff), gws(ModeNoContext), gws(ModeContext),
			nbio(ModeOff), nbio(ModeNoContext)},
		Echo:      []DeflateVariant{sb(ModeOff), sb(ModeNoContext), sb(ModeContext), sbAtGWSLevel, gws(ModeNoContext), gws(ModeContext), nbio(ModeNoContext)},
		Bcast:     []DeflateVariant{sb(ModeOff), sb(ModeNoContext), sb(ModeContext), gws(ModeNoContext), gws(ModeContext), nbio(ModeNoContext)},
		IdleConns: 10000, IdleMsgSize: 1024,
		EchoConns: 1000, EchoMsgs: 20, EchoSizes: []int{1024, 16384},
		BcastSubs: 10000, BcastK: 20, BcastSize: 4096, BcastGap: 20 * time.Millisecond,
	}
}

// quickDeflate is the comparison of Quick, at a fifth of the scale.
func quickDeflate() DeflateConfig {
	d := fullDeflate()
	d.Rounds = 1
	d.IdleConns, d.EchoConns, d.EchoMsgs, d.BcastSubs, d.BcastK = 2000, 200, 10, 2000, 5
	return d
}

// smokeDeflate is the tiny version the smoke test runs.
func smokeDeflate() DeflateConfig {
	return DeflateConfig{
		Rounds:    1,
		Idle:      []DeflateVariant{{Server: "switchboard", Mode: ModeOff}, {Server: "switchboard", Mode: ModeNoContext}, {Server: "switchboard", Mode: ModeContext}, {Server: "gws", Mode: ModeNoContext}},
		Echo:      []DeflateVariant{{Server: "switchboard", Mode: ModeNoContext}, {Server: "switchboard", Mode: ModeContext}, {Server: "switchboard", Mode: ModeContext, Level: GWSContextLevel}, {Server: "gws", Mode: ModeNoContext}},
		Bcast:     []DeflateVariant{{Server: "switchboard", Mode: ModeNoContext}},
		IdleConns: 20, IdleMsgSize: 1024,
		EchoConns: 10, EchoMsgs: 5, EchoSizes: []int{1024},
		BcastSubs: 20, BcastK: 3, BcastSize: 4096, BcastGap: time.Millisecond,
	}
}

// offer is the load generator's permessage-deflate offer for a server mode
// and a kind of job: none for off; both directions without context for
// no-context-takeover; for context-takeover, an offer that lets both
// directions keep context for the idle and broadcast jobs (as browsers
// offer, so the server keeps both windows) and one where only the server
// keeps it for the echo (client_no_context_takeover: what this job has always measured,
// the server compressing with context).
func offer(mode, kind string) string {
	switch mode {
	case ModeNoContext:
		return load.DeflateNoContextTakeover
	case ModeContext:
		if kind == "idle" || kind == "bcast" {
			return load.DeflateContextTakeover
		}
		return load.DeflateServerContextTakeover
	}
	return ""
}

// DeflateMem is one idle job.
type DeflateMem struct {
	Server   string   `json:"server"`
	Mode     string   `json:"mode"`
	Level    int      `json:"level,omitempty"`
	Round    int      `json:"round"`
	BaseRSS  uint64   `json:"base_rss"`
	BaseHeap uint64   `json:"base_heap"`
	Point    MemPoint `json:"point"`
	Err      string   `json:"err,omitempty"`
}

// DeflateEchoPoint is one size of an echo job: EchoPoint and the socket
// bytes per round trip the load generator wrote (Tx) and read (Rx).
type DeflateEchoPoint struct {
	EchoPoint
	TxPer float64 `json:"tx_per"`
	RxPer float64 `json:"rx_per"`
	// GenCPUPerMsg is the load generator's CPU time per round trip, ns.
	GenCPUPerMsg float64 `json:"gen_cpu_per_msg_ns"`
}

// DeflateEcho is one echo job.
type DeflateEcho struct {
	Server string             `json:"server"`
	Mode   string             `json:"mode"`
	Level  int                `json:"level,omitempty"`
	Round  int                `json:"round"`
	Points []DeflateEchoPoint `json:"points"`
	Err    string             `json:"err,omitempty"`
}

// DeflateBcast is one broadcast job; Bad counts arrivals inflated in full
// (on one connection in load.SampleEvery, and the first copy of each
// distinct payload per worker on the others) whose length was wrong.
type DeflateBcast struct {
	BcastRun
	Mode  string `json:"mode"`
	Level int    `json:"level,omitempty"`
	Bad   int64  `json:"bad"`
	// GenCPUPerDelivery is the load generator's CPU time per message one
	// subscriber received, ns.
	GenCPUPerDelivery float64 `json:"gen_cpu_per_delivery_ns"`
}

// DeflateRun is one run that produced some of the deflate results.
type DeflateRun struct {
	Command string    `json:"command"`
	Started time.Time `json:"started"`
	Took    float64   `json:"took_s"`
	Rounds  int       `json:"rounds"`
	Kinds   []string  `json:"kinds"` // idle, echo, bcast
}

// DeflateResults is what the permessage-deflate jobs measured.
type DeflateResults struct {
	Config  DeflateConfig  `json:"config"`
	Command string         `json:"command"` // of the latest run
	Started time.Time      `json:"started"`
	Took    float64        `json:"took_s"`
	Runs    []DeflateRun   `json:"runs"` // every run whose results are here
	Mem     []DeflateMem   `json:"mem"`
	Echo    []DeflateEcho  `json:"echo"`
	Bcast   []DeflateBcast `json:"bcast"`
	Order   []string       `json:"order"`
	Health  []Health       `json:"health"`
}

type deflateJob struct {
	kind  string // idle, echo, bcast
	v     DeflateVariant
	round int
}

// DeflateCommand is the command line Run records with the results of the
// deflate jobs (set by cmd/bench).
var DeflateCommand = "bin/bench -jobs deflate"

// runDeflate runs the permessage-deflate jobs of cfg into res.Deflate.
func runDeflate(ctx context.Context, cfg Config, res *Results) error {
	dc := cfg.Deflate
	if dc.Rounds <= 0 {
		return nil
	}
	d := &DeflateResults{Config: dc, Command: DeflateCommand, Started: time.Now()}
	res.Deflate = d
	allowed := map[string]bool{}
	for _, s := range cfg.Servers {
		allowed[s.Name] = true
	}
	var jobs []deflateJob
	for r := 0; r < dc.Rounds; r++ {
		for _, k := range []struct {
			kind string
			vs   []DeflateVariant
		}{{"idle", dc.Idle}, {"echo", dc.Echo}, {"bcast", dc.Bcast}} {
			var vs []DeflateVariant
			for _, v := range k.vs {
				if allowed[v.Server] {
					vs = append(vs, v)
				}
			}
			if len(vs) == 0 {
				continue
			}
			rot := r % len(vs)
			for _, v := range append(append([]DeflateVariant(nil), vs[rot:]...), vs[:rot]...) {
				jobs = append(jobs, deflateJob{k.kind, v, r + 1})
			}
		}
	}
	var waited time.Duration
	for i, j := range jobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		others, w := waitCalm(cfg, cfg.CalmTotal-waited)
		waited += w
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		src := fmt.Sprintf("127.%d.%d.2", 100+i/250, 1+i%250)
		tag := fmt.Sprintf("r%d-deflate-%s-%s", j.round, j.kind, strings.ReplaceAll(j.v.String(), "/", "-"))
		d.Order = append(d.Order, tag)
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "[deflate %d/%d] round %d: %s %s %s\n", i+1, len(jobs), j.round, j.kind, j.v.Server, strings.Join(j.v.args(), " "))
		}
		net0 := readNet()
		srv, err := startServer(filepath.Join(cfg.BinDir, j.v.Server), j.v.Server, addr, filepath.Join(cfg.OutDir, "logs", tag+".log"),
			j.v.args(), nil)
		if err != nil {
			return err
		}
		opts := load.Options{
			Bin: filepath.Join(cfg.BinDir, "loadgen"), Addr: addr, SrcBase: src, Progress: cfg.Progress,
			Label: "  " + j.v.String(), PingEvery: 20 * time.Second, Deflate: offer(j.v.Mode, j.kind), Doc: load.DocJSON,
		}
		switch j.kind {
		case "idle":
			d.Mem = append(d.Mem, deflateIdleJob(ctx, cfg, srv, opts, j))
		case "echo":
			d.Echo = append(d.Echo, deflateEchoJob(ctx, cfg, srv, opts, j))
		case "bcast":
			d.Bcast = append(d.Bcast, deflateBcastJob(ctx, cfg, srv, opts, j))
		}
		srv.stop()
		d.Health = append(d.Health, jobHealth(tag, others, w, net0))
	}
	d.Took = time.Since(d.Started).Seconds()
	run := DeflateRun{Command: d.Command, Started: d.Started, Took: d.Took, Rounds: dc.Rounds}
	for _, k := range []struct {
		kind string
		vs   []DeflateVariant
	}{{"idle", dc.Idle}, {"echo", dc.Echo}, {"bcast", dc.Bcast}} {
		if len(k.vs) > 0 {
			run.Kinds = append(run.Kinds, k.kind)
		}
	}
	d.Runs = []DeflateRun{run}
	return nil
}

// mergeDeflate returns old with the kinds of deflate job fresh ran
// replaced by fresh's.
func mergeDeflate(old, fresh *DeflateResults) *DeflateResults {
	if old == nil || fresh == nil || len(fresh.Runs) == 0 {
		return fresh
	}
	out := *old
	fc := fresh.Config
	replaced := map[string]bool{}
	for _, k := range fresh.Runs[0].Kinds {
		replaced[k] = true
	}
	if replaced["idle"] {
		out.Mem, out.Config.Idle, out.Config.IdleConns, out.Config.IdleMsgSize = fresh.Mem, fc.Idle, fc.IdleConns, fc.IdleMsgSize
	}
	if replaced["echo"] {
		out.Echo, out.Config.Echo, out.Config.EchoConns, out.Config.EchoMsgs, out.Config.EchoSizes = fresh.Echo, fc.Echo, fc.EchoConns, fc.EchoMsgs, fc.EchoSizes
	}
	if replaced["bcast"] {
		out.Bcast, out.Config.Bcast, out.Config.BcastSubs, out.Config.BcastK, out.Config.BcastSize, out.Config.BcastGap = fresh.Bcast, fc.Bcast, fc.BcastSubs, fc.BcastK, fc.BcastSize, fc.BcastGap
	}
	out.Command, out.Started, out.Took = fresh.Command, fresh.Started, fresh.Took
	oldRuns := old.Runs
	if len(oldRuns) == 0 { // results from before runs were recorded
		oldRuns = []DeflateRun{{Command: old.Command, Started: old.Started, Took: old.Took, Rounds: old.Config.Rounds, Kinds: []string{"idle", "echo", "bcast"}}}
	}
	out.Runs = nil
	for _, r := range oldRuns {
		var kinds []string
		for _, k := range r.Kinds {
			if !replaced[k] {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) > 0 {
			r.Kinds = kinds
			out.Runs = append(out.Runs, r)
		}
	}
	out.Runs = append(out.Runs, fresh.Runs...)
	out.Health = nil
	for _, h := range old.Health {
		keep := true
		for k := range replaced {
			if strings.Contains(h.Job, "-deflate-"+k+"-") {
				keep = false
			}
		}
		if keep {
			out.Health = append(out.Health, h)
		}
	}
	out.Health = append(out.Health, fresh.Health...)
	out.Order = append(append([]string(nil), old.Order...), fresh.Order...)
	return &out
}

// deflateIdleJob: after a warm-up (100 connections, 5 compressed echoes of
// an IdleMsgSize document each, closed) the baseline; then IdleConns
// connections, each echoing one document, idle; then the memory.
func deflateIdleJob(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, j deflateJob) (run DeflateMem) {
	dc := cfg.Deflate
	run = DeflateMem{Server: j.v.Server, Mode: j.v.Mode, Level: j.v.Level, Round: j.round}
	fail := func(err error) DeflateMem {
		run.Err = err.Error()
		cfg.note("%s: %v", j.v, err)
		return run
	}
	if err := settleHeap(srv, cfg.Settle, 10*time.Second); err != nil {
		return fail(err)
	}
	warm := load.NewPool(opts)
	n := min(100, dc.IdleConns)
	if _, err := warm.Grow(ctx, n); err != nil {
		warm.Close()
		return fail(err)
	}
	if _, err := warm.Echo(ctx, n, 5, dc.IdleMsgSize, cfg.Timeout, false); err != nil {
		warm.Close()
		return fail(err)
	}
	warm.Close()
	if _, err := srv.waitConns(0, 30*time.Second); err != nil {
		return fail(err)
	}
	time.Sleep(cfg.Settle)
	if _, err := srv.mem(); err != nil {
		return fail(err)
	}
	base, err := srv.mem()
	if err != nil {
		return fail(err)
	}
	run.BaseRSS, run.BaseHeap = base.RSS, base.HeapInuse
	// heap profiles at the baseline and with the idle connections (the
	// default sampling, one per 512 KiB): where a difference comes from,
	// with go tool pprof -base
	prof := filepath.Join(cfg.OutDir, "logs", fmt.Sprintf("r%d-deflate-idle-%s", j.round, strings.ReplaceAll(j.v.String(), "/", "-")))
	prof, _ = filepath.Abs(prof)
	_, _ = srv.ask("heap " + prof + "-base.pprof")

	pool := load.NewPool(opts)
	defer pool.Close()
	if _, err := pool.Grow(ctx, dc.IdleConns); err != nil {
		return fail(err)
	}
	if _, err := srv.waitConns(pool.Live(), 60*time.Second); err != nil {
		return fail(err)
	}
	if r, err := pool.Echo(ctx, pool.Live(), 1, dc.IdleMsgSize, cfg.Timeout, false); err != nil {
		return fail(err)
	} else if r.Errors > 0 || r.Msgs != int64(pool.Live()) {
		return fail(fmt.Errorf("one echo per connection: %d of %d came back, %d errors", r.Msgs, pool.Live(), r.Errors))
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
		return fail(fmt.Errorf("no connections held"))
	}
	c := float64(m.Conns)
	run.Point = MemPoint{
		Conns:  int(m.Conns),
		RSSPer: (float64(m.RSS) - float64(base.RSS)) / c, HeapPer: (float64(m.HeapInuse) - float64(base.HeapInuse)) / c,
		StackPer: (float64(m.StackInuse) - float64(base.StackInuse)) / c,
		RSS:      m.RSS, HeapInuse: m.HeapInuse, StackInuse: m.StackInuse, Goroutines: m.Goroutines,
	}
	_, _ = srv.ask("heap " + prof + "-idle.pprof")
	cfg.note("%s at %d idle (deflate offer %q): %.0f B RSS, %.0f B heap per connection", j.v, m.Conns, opts.Deflate, run.Point.RSSPer, run.Point.HeapPer)
	return run
}

func deflateEchoJob(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, j deflateJob) (run DeflateEcho) {
	dc := cfg.Deflate
	run = DeflateEcho{Server: j.v.Server, Mode: j.v.Mode, Level: j.v.Level, Round: j.round}
	pool := load.NewPool(opts)
	defer pool.Close()
	if _, err := pool.Grow(ctx, dc.EchoConns); err != nil {
		run.Err = err.Error()
		return run
	}
	if _, err := srv.waitConns(pool.Live(), 30*time.Second); err != nil {
		run.Err = err.Error()
		return run
	}
	for _, size := range dc.EchoSizes {
		if _, err := pool.Echo(ctx, dc.EchoConns, max(2, dc.EchoMsgs/10), size, cfg.Timeout, false); err != nil {
			run.Err = err.Error()
			cfg.note("%s: %v", j.v, err)
			return run
		}
		m0, err := srv.ask("stats")
		if err != nil {
			run.Err = err.Error()
			return run
		}
		g0 := pool.CPU()
		r, err := pool.Echo(ctx, dc.EchoConns, dc.EchoMsgs, size, cfg.Timeout, true)
		m1, _ := srv.ask("stats")
		g1 := pool.CPU()
		p := DeflateEchoPoint{EchoPoint: EchoPoint{
			Size: size, Conns: r.Conns, Msgs: r.Msgs, Rate: r.Rate(), Errors: r.Errors,
			P50: int64(r.Hist.Quantile(0.5)), P99: int64(r.Hist.Quantile(0.99)), Max: int64(r.Hist.Quantile(1)),
		}}
		if r.Msgs > 0 {
			p.TxPer, p.RxPer = float64(r.Tx)/float64(r.Msgs), float64(r.Rx)/float64(r.Msgs)
			p.GenCPUPerMsg = float64(g1-g0) / float64(r.Msgs)
			if m1.CPUNS > m0.CPUNS {
				p.CPUPerMsg = float64(m1.CPUNS-m0.CPUNS) / float64(r.Msgs)
			}
		}
		run.Points = append(run.Points, p)
		cfg.note("%s echo %s JSON: %.0f msg/s, p50 %v, server CPU %.1f µs/msg, generator CPU %.1f µs/msg, socket bytes per round trip %.0f sent + %.0f received",
			j.v, sizeStr(size), p.Rate, time.Duration(p.P50), p.CPUPerMsg/1e3, p.GenCPUPerMsg/1e3, p.TxPer, p.RxPer)
		if err != nil {
			run.Err = err.Error()
			return run
		}
	}
	return run
}

func deflateBcastJob(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, j deflateJob) (run DeflateBcast) {
	dc := cfg.Deflate
	run = DeflateBcast{BcastRun: BcastRun{Server: j.v.Server, Round: j.round}, Mode: j.v.Mode, Level: j.v.Level}
	// Raw receivers in every mode (compressed: each distinct payload
	// inflated once per worker), so that compressed and uncompressed
	// broadcasts are read the same way.
	opts.Broadcast, opts.RawReceivers = true, true
	pool := load.NewPool(opts)
	defer pool.Close()
	m0, err := bcastReady(ctx, pool, srv, dc.BcastSubs, dc.BcastSize, dc.BcastGap, cfg.Timeout)
	if err != nil {
		run.Err = err.Error()
		return run
	}
	g0 := pool.CPU()
	r, err := pool.Broadcast(ctx, dc.BcastK, dc.BcastSize, dc.BcastGap, cfg.Timeout)
	m1, _ := srv.ask("stats")
	g1 := pool.CPU()
	if r.Arrivals > 0 && m1.CPUNS > m0.CPUNS {
		run.CPUPerDelivery = float64(m1.CPUNS-m0.CPUNS) / float64(r.Arrivals)
		run.GenCPUPerDelivery = float64(g1-g0) / float64(r.Arrivals)
	}
	run.Subscribers, run.Publishes, run.Complete, run.Lost, run.Bad = r.Subscribers, r.Publishes, len(r.Completion), r.Lost, r.Bad
	run.P50, run.P99, run.Max = int64(r.Quantile(0.5)), int64(r.Quantile(0.99)), int64(r.Quantile(1))
	if err != nil {
		run.Err = err.Error()
	} else if r.Bad > 0 {
		run.Err = fmt.Sprintf("%d arrivals inflated in full to the wrong length", r.Bad)
	}
	cfg.note("%s broadcast %s JSON to %d: p50 %v, p99 %v, lost %d, server CPU %.0f ns/delivery, generator CPU %.0f ns/delivery", j.v, sizeStr(dc.BcastSize), r.Subscribers,
		time.Duration(run.P50), time.Duration(run.P99), run.Lost, run.CPUPerDelivery, run.GenCPUPerDelivery)
	return run
}

// Merge returns old with the results of the kinds of job that fresh ran
// (kinds; empty: all) taken from fresh, and everything else kept: how a run
// of a few kinds of job (`bench -jobs deflate`) updates the stored results
// of a full run without running it all again. The run's header figures
// (start, duration, configuration, machine) stay those of old, except the
// configuration of the kinds replaced; a replaced deflate section carries
// its own command and time.
func Merge(old, fresh *Results, kinds []string) *Results {
	if old == nil {
		return fresh
	}
	if len(kinds) == 0 {
		return fresh
	}
	out := *old
	has := func(k string) bool {
		for _, x := range kinds {
			if x == k {
				return true
			}
		}
		return false
	}
	var tags []string
	if has("mem") {
		out.Mem, out.Config.Levels = fresh.Mem, fresh.Config.Levels
		tags = append(tags, "-mem-")
	}
	if has("echo") {
		out.Echo, out.Config.EchoConns, out.Config.EchoMsgs, out.Config.EchoSizes = fresh.Echo, fresh.Config.EchoConns, fresh.Config.EchoMsgs, fresh.Config.EchoSizes
		tags = append(tags, "-echo-")
	}
	if has("bcast") {
		out.Bcast, out.Config.BcastSubs, out.Config.BcastK, out.Config.BcastSize, out.Config.BcastGap = fresh.Bcast, fresh.Config.BcastSubs, fresh.Config.BcastK, fresh.Config.BcastSize, fresh.Config.BcastGap
		tags = append(tags, "-bcast-")
	}
	if has("large") {
		out.Large, out.Config.Large, out.Config.LargeTimeout = fresh.Large, fresh.Config.Large, fresh.Config.LargeTimeout
		tags = append(tags, "-large-")
	}
	if has("stall") {
		out.Stall, out.Config.StallConns, out.Config.StallSize = fresh.Stall, fresh.Config.StallConns, fresh.Config.StallSize
		tags = append(tags, "-stall-")
	}
	if has("profile") {
		out.Heap = fresh.Heap
	}
	if has("deflate") {
		out.Deflate = mergeDeflate(old.Deflate, fresh.Deflate)
		if out.Deflate != nil {
			out.Config.Deflate = out.Deflate.Config
		}
	}
	if has("tls") {
		out.TLS, out.Config.TLS = fresh.TLS, fresh.Config.TLS
	}
	if len(tags) > 0 {
		// the health of the replaced jobs goes with them
		var hs []Health
		for _, h := range old.Health {
			if !containsAny(h.Job, tags) {
				hs = append(hs, h)
			}
		}
		out.Health = append(hs, fresh.Health...)
		out.Order = append(append([]string(nil), old.Order...), fresh.Order...)
	}
	return &out
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
