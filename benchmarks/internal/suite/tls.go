package suite

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/certs"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
)

// The TLS jobs (job kind "tls", issue 11's "Measure"): the servers that can
// serve wss:// (-tls-cert/-tls-key: crypto/tls, or nbio's non-blocking fork
// of it) under the load generator with crypto/tls, against a test PKI made
// at the start of the run (package certs):
//   - mem: RSS and heap per idle wss:// connection at each level;
//   - echo: messages/s and server CPU per round trip over TLS;
//   - handshake: connections opened per second (TCP, TLS handshake, the
//     WebSocket upgrade, close) and server CPU per connection, for an ECDSA
//     P-256 and an RSA-2048 certificate, with session resumption off and
//     on, against net/http + crypto/tls alone (servers/tlsref) on the same
//     certificate.

// TLSConfig sizes the TLS jobs; zero Rounds: none.
type TLSConfig struct {
	Rounds  int      `json:"rounds"`
	Servers []string `json:"servers"` // mem and echo
	Levels  []int    `json:"levels"`

	EchoConns int   `json:"echo_conns"`
	EchoMsgs  int   `json:"echo_msgs"`
	EchoSizes []int `json:"echo_sizes"`

	// HSServers are the servers of the handshake job, the reference
	// included; HSConc goroutines open connections for HSDur per case.
	HSServers []string      `json:"hs_servers"`
	Keys      []string      `json:"keys"` // certs.ECDSA, certs.RSA
	HSConc    int           `json:"hs_conc"`
	HSDur     time.Duration `json:"hs_dur"`
	// HSPin runs each handshake job's server on CPU 0 and its load
	// generator on CPU 1 (where taskset and two CPUs are there): the rate
	// is then the server's, not that of two processes sharing the cores
	// (TLSResults.HSPinned says whether it was done).
	HSPin bool `json:"hs_pin"`
	// HSQuota, with HSPin, also caps the server at this share of its CPU
	// (a CFS quota, where the cgroup v1 cpu controller is writable): the
	// generator, which needs about as much CPU per connection as a server,
	// then has a whole CPU against the server's share and never sets the
	// rate (TLSResults.HSQuota says whether it was applied).
	HSQuota float64 `json:"hs_quota"`
}

func fullTLS() TLSConfig {
	return TLSConfig{
		Rounds:    1,
		Servers:   []string{"switchboard", "nbio", "gws", "gorilla", "coder"},
		Levels:    []int{1000, 5000, 10000, 19000},
		EchoConns: 1000, EchoMsgs: 100, EchoSizes: []int{64, 1024},
		HSServers: []string{"tlsref", "switchboard", "nbio", "gws", "gorilla", "coder"},
		Keys:      []string{certs.ECDSA, certs.RSA},
		HSConc:    16, HSDur: 4 * time.Second, HSPin: true, HSQuota: 0.5,
	}
}

func quickTLS() TLSConfig {
	t := fullTLS()
	t.Levels, t.EchoConns, t.EchoMsgs, t.HSDur = []int{1000, 5000}, 200, 20, 2*time.Second
	return t
}

func smokeTLS() TLSConfig {
	return TLSConfig{
		Rounds: 1, Servers: []string{"switchboard", "gws", "nbio"}, Levels: []int{20},
		EchoConns: 10, EchoMsgs: 5, EchoSizes: []int{64},
		HSServers: []string{"tlsref", "switchboard", "gws"}, Keys: []string{certs.ECDSA}, HSConc: 2, HSDur: 500 * time.Millisecond, HSPin: true, HSQuota: 0.5,
	}
}

// TLSHandshake is one handshake case.
type TLSHandshake struct {
	Server  string  `json:"server"`
	Key     string  `json:"key"`
	Resume  bool    `json:"resume"`
	Round   int     `json:"round"`
	Opened  int64   `json:"opened"`
	Failed  int64   `json:"failed"`
	Resumed int64   `json:"resumed"`
	Rate    float64 `json:"rate"` // connections opened per second
	// CPUPer and GenCPUPer are the server's and the load generator's CPU
	// time per connection opened, ns.
	CPUPer    float64 `json:"cpu_per_ns"`
	GenCPUPer float64 `json:"gen_cpu_per_ns"`
	Err       string  `json:"err,omitempty"`
}

// TLSResults is what the TLS jobs measured.
type TLSResults struct {
	Config  TLSConfig      `json:"config"`
	Command string         `json:"command"`
	Started time.Time      `json:"started"`
	Took    float64        `json:"took_s"`
	Mem     []MemRun       `json:"mem"`
	Echo    []EchoRun      `json:"echo"`
	HS      []TLSHandshake `json:"handshake"`
	Health  []Health       `json:"health"`
	// HSPinned: the handshake jobs ran with the server on CPU 0 and the
	// load generator on CPU 1 (TLSConfig.HSPin).
	HSPinned bool    `json:"hs_pinned"`
	HSQuota  float64 `json:"hs_quota"` // the server's CPU cap applied; 0: none
}

// TLSCommand is the command line recorded with the TLS results (set by
// cmd/bench).
var TLSCommand = "bin/bench -jobs tls"

type tlsJob struct {
	kind   string // mem, echo, handshake
	server string
	key    string
	resume bool
	round  int
}

func tlsArgs(f certs.Files) []string { return []string{"-tls-cert", f.Cert, "-tls-key", f.Key} }

// runTLS runs the TLS jobs of cfg into res.TLS.
func runTLS(ctx context.Context, cfg Config, res *Results) error {
	tc := cfg.TLS
	if tc.Rounds <= 0 {
		return nil
	}
	t := &TLSResults{Config: tc, Command: TLSCommand, Started: time.Now(), HSPinned: tc.HSPin && load.CanPin()}
	var quota *load.Quota
	if t.HSPinned && tc.HSQuota > 0 && load.CanQuota() {
		q, err := load.NewQuota("bench-tls", tc.HSQuota)
		if err != nil {
			return err
		}
		defer q.Remove()
		quota, t.HSQuota = q, tc.HSQuota
	}
	res.TLS = t
	pki := map[string]certs.Files{}
	for _, k := range append([]string{certs.ECDSA}, tc.Keys...) {
		if _, ok := pki[k]; ok {
			continue
		}
		f, err := certs.Generate(filepath.Join(cfg.OutDir, "pki"), k)
		if err != nil {
			return err
		}
		pki[k] = f
	}
	allowed := map[string]bool{"tlsref": true}
	for _, s := range cfg.Servers {
		allowed[s.Name] = true
	}
	pick := func(names []string) []string {
		var out []string
		for _, n := range names {
			if allowed[n] {
				out = append(out, n)
			}
		}
		return out
	}
	var jobs []tlsJob
	for r := 0; r < tc.Rounds; r++ {
		rot := func(xs []string) []string {
			if len(xs) == 0 {
				return nil
			}
			i := r % len(xs)
			return append(append([]string(nil), xs[i:]...), xs[:i]...)
		}
		for _, s := range rot(pick(tc.Servers)) {
			jobs = append(jobs, tlsJob{kind: "mem", server: s, key: certs.ECDSA, round: r + 1})
		}
		for _, s := range rot(pick(tc.Servers)) {
			jobs = append(jobs, tlsJob{kind: "echo", server: s, key: certs.ECDSA, round: r + 1})
		}
		for _, k := range tc.Keys {
			for _, resume := range []bool{false, true} {
				for _, s := range rot(pick(tc.HSServers)) {
					jobs = append(jobs, tlsJob{kind: "handshake", server: s, key: k, resume: resume, round: r + 1})
				}
			}
		}
	}
	sub := cfg
	sub.Levels, sub.EchoConns, sub.EchoMsgs, sub.EchoSizes = tc.Levels, tc.EchoConns, tc.EchoMsgs, tc.EchoSizes
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
		src := fmt.Sprintf("127.%d.%d.2", 200+i/250, 1+i%250)
		tag := fmt.Sprintf("r%d-tls-%s-%s-%s", j.round, j.kind, j.server, j.key)
		if j.kind == "handshake" && j.resume {
			tag += "-resume"
		}
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "[tls %d/%d] round %d: %s %s (%s certificate, resumption %v)\n", i+1, len(jobs), j.round, j.kind, j.server, j.key, j.resume)
		}
		net0 := readNet()
		srvCPUs, genCPUs := "", ""
		var genEnv []string
		if j.kind == "handshake" && t.HSPinned {
			srvCPUs, genCPUs = "0", "1"
			// Two processors on the generator's one CPU: with one, its
			// client's event loop, blocked in epoll_wait, holds it, and
			// the dialling goroutines wait for the runtime to take it
			// back (a third fewer connections per second, measured with
			// cmd/tlshs -pin -pkg).
			genEnv = []string{"GOMAXPROCS=2"}
		}
		srv, err := startServerOn(srvCPUs, filepath.Join(cfg.BinDir, j.server), j.server, addr, filepath.Join(cfg.OutDir, "logs", tag+".log"), tlsArgs(pki[j.key]), nil)
		if err != nil {
			return err
		}
		if j.kind == "handshake" && quota != nil {
			if err := quota.Add(srv.cmd.Process.Pid); err != nil {
				srv.stop()
				return err
			}
		}
		opts := load.Options{
			Bin: filepath.Join(cfg.BinDir, "loadgen"), Addr: addr, SrcBase: src, Progress: cfg.Progress,
			Label: "  " + j.server + " wss", PingEvery: 20 * time.Second, TLSCA: pki[j.key].CA, TLSResume: j.resume,
			CPUs: genCPUs, Env: genEnv,
		}
		sj := job{kind: j.kind, server: Server{Name: j.server, Title: j.server}, round: j.round}
		switch j.kind {
		case "mem":
			t.Mem = append(t.Mem, memJob(ctx, sub, srv, opts, sj))
		case "echo":
			t.Echo = append(t.Echo, echoJob(ctx, sub, srv, opts, sj))
		case "handshake":
			t.HS = append(t.HS, handshakeJob(ctx, cfg, srv, opts, j))
		}
		srv.stop()
		t.Health = append(t.Health, jobHealth(tag, others, w, net0))
	}
	t.Took = time.Since(t.Started).Seconds()
	return nil
}

// handshakeJob opens connections one after another from HSConc goroutines
// for HSDur (after a warm-up of a tenth of that) and reads the server's and
// the generator's CPU time around it.
func handshakeJob(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, j tlsJob) (run TLSHandshake) {
	tc := cfg.TLS
	run = TLSHandshake{Server: j.server, Key: j.key, Resume: j.resume, Round: j.round}
	pool := load.NewPool(opts)
	defer pool.Close()
	if _, err := pool.Handshakes(ctx, tc.HSConc, max(tc.HSDur/10, 100*time.Millisecond)); err != nil {
		run.Err = err.Error()
		cfg.note("%s: %v", j.server, err)
		return run
	}
	m0, err := srv.ask("stats")
	if err != nil {
		run.Err = err.Error()
		return run
	}
	g0 := pool.CPU()
	r, err := pool.Handshakes(ctx, tc.HSConc, tc.HSDur)
	g1 := pool.CPU()
	m1, _ := srv.ask("stats")
	run.Opened, run.Failed, run.Resumed, run.Rate = r.Opened, r.Failed, r.Resumed, r.Rate()
	if r.Opened > 0 {
		run.CPUPer = float64(m1.CPUNS-m0.CPUNS) / float64(r.Opened)
		run.GenCPUPer = float64(g1-g0) / float64(r.Opened)
	}
	if err != nil {
		run.Err = err.Error()
	}
	cfg.note("%s %s resume=%v: %.0f connections/s (%d, %d resumed, %d failed), server CPU %.0f µs, generator CPU %.0f µs per connection",
		j.server, j.key, j.resume, run.Rate, run.Opened, run.Resumed, run.Failed, run.CPUPer/1e3, run.GenCPUPer/1e3)
	return run
}
