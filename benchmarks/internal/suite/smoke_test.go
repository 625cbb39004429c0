package suite

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmoke builds every server and the load generator and runs the whole
// suite at tiny scale (20 connections; one 64 KiB and one 1 MiB echo; 5
// stalled 1 MiB messages; permessage-deflate with switchboard in both modes
// and gws; wss:// with gws, nbio and the net/http reference), report and
// plots included, so the harness cannot rot unnoticed.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every server")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "../../cmd/loadgen", "../../servers/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// The load generator's workers run with the race detector where it
	// builds (it needs cgo); a race ends the worker and so fails the run.
	race := exec.Command("go", "build", "-race", "-o", filepath.Join(bin, "loadgen"), "../../cmd/loadgen")
	if out, err := race.CombinedOutput(); err != nil {
		t.Logf("loadgen without -race: %v\n%s", err, out)
	} else {
		t.Setenv("GORACE", "halt_on_error=1 atexit_sleep_ms=0")
	}
	cfg := Smoke()
	cfg.BinDir, cfg.OutDir, cfg.Servers = bin, t.TempDir(), Servers
	if testing.Verbose() {
		cfg.Progress = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(res)
	if len(s.Errors) > 0 {
		t.Fatalf("errors:\n%s", strings.Join(s.Errors, "\n"))
	}
	for _, srv := range Servers {
		pts := s.Mem[srv.Name]
		// At the smoke level (a few dozen connections after a warm-up)
		// RSS may not move past its baseline: its growth is not checked.
		if len(pts) != 1 || pts[0].Conns != cfg.Levels[0] {
			t.Errorf("%s memory: %+v", srv.Name, pts)
		}
		eps := s.Echo[srv.Name]
		if len(eps) != 1 || eps[0].Rate <= 0 || eps[0].P50 <= 0 {
			t.Errorf("%s echo: %+v", srv.Name, eps)
		}
		for _, e := range res.Echo {
			if e.Server == srv.Name && e.Points[0].Msgs != int64(cfg.EchoConns*cfg.EchoMsgs) {
				t.Errorf("%s echo: %d round trips, want %d", srv.Name, e.Points[0].Msgs, cfg.EchoConns*cfg.EchoMsgs)
			}
		}
		lps := s.Large[srv.Name]
		if len(lps) != len(cfg.Large) {
			t.Errorf("%s large-message echo: %+v", srv.Name, lps)
		}
		for i, p := range lps {
			if l := cfg.Large[i]; p.Size != l.Size || p.Msgs != int64(l.Conns*l.Msgs) || p.Errors != 0 || p.Rate <= 0 || p.CPUPerMiB <= 0 {
				t.Errorf("%s large-message echo %d B: %+v", srv.Name, l.Size, p)
			}
		}
		if srv.Raw {
			if _, ok := s.Stall[srv.Name]; ok {
				t.Errorf("%s: a stall job on plain TCP", srv.Name)
			}
			continue
		}
		if x, ok := s.Stall[srv.Name]; !ok || x.Sent != cfg.StallConns || x.RSSPer == 0 {
			t.Errorf("%s stalled messages: %+v", srv.Name, x)
		}
		b, ok := s.Bcast[srv.Name]
		if !ok || b.Complete != cfg.BcastK || b.Lost != 0 || b.Subscribers != cfg.BcastSubs || b.P50 <= 0 {
			t.Errorf("%s broadcast: %+v", srv.Name, b)
		}
	}
	checkDeflateSmoke(t, cfg, res)
	checkTLSSmoke(t, cfg, res)
	md := filepath.Join(cfg.OutDir, "benchmarks.md")
	img := filepath.Join(cfg.OutDir, "img")
	if err := WriteReport(res, md, img, "## Notes\n\nsmoke"); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Memory per idle upgraded connection", "| switchboard |", "## Large messages: echo", "## Stalled partial messages", "## Targets", "smoke",
		"## permessage-deflate", "### Idle connections with deflate negotiated", "### Echo of JSON documents", "### Broadcast of a JSON document", "### Targets (issue 12)",
		"## TLS (wss://)", "### Memory per idle wss:// connection", "### Echo over TLS", "### New wss:// connections (TLS handshakes)"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	pngs, _ := filepath.Glob(filepath.Join(img, "*.png"))
	if len(pngs) != 15 {
		t.Errorf("plots: %v", pngs)
	}
	for _, p := range pngs {
		if fi, err := os.Stat(p); err != nil || fi.Size() < 1000 {
			t.Errorf("plot %s: %v", p, err)
		}
	}
}

// checkDeflateSmoke checks that every permessage-deflate job measured what
// it should: the connections held, every echo back at its length, bytes on
// the wire smaller compressed than the document, every publish complete.
func checkDeflateSmoke(t *testing.T, cfg Config, res *Results) {
	t.Helper()
	d := res.Deflate
	if d == nil {
		t.Fatal("no deflate results")
	}
	s := summarizeDeflate(d)
	if len(s.errs) > 0 {
		t.Fatalf("deflate errors:\n%s", strings.Join(s.errs, "\n"))
	}
	dc := cfg.Deflate
	for _, v := range dc.Idle {
		if p, ok := s.mem[v]; !ok || p.Conns != dc.IdleConns || p.RSSPer == 0 {
			t.Errorf("%s idle: %+v", v, p)
		}
	}
	for _, v := range dc.Echo {
		pts := s.echo[v]
		if len(pts) != len(dc.EchoSizes) {
			t.Fatalf("%s echo: %+v", v, pts)
		}
		for i, p := range pts {
			size := float64(dc.EchoSizes[i])
			if p.Msgs != int64(dc.EchoConns*dc.EchoMsgs) || p.Errors != 0 || p.Rate <= 0 || p.CPUPerMsg <= 0 {
				t.Errorf("%s echo %v B: %+v", v, size, p)
			}
			// compressed both ways: well under the document, framing included
			if compressed := v.Mode != ModeOff; compressed && (p.TxPer >= size || p.RxPer >= size) || !compressed && p.RxPer < size {
				t.Errorf("%s echo %v B: %.0f B sent, %.0f B received per round trip", v, size, p.TxPer, p.RxPer)
			}
		}
	}
	for _, v := range dc.Bcast {
		b, ok := s.bcast[v]
		if !ok || b.Complete != dc.BcastK || b.Lost != 0 || b.Bad != 0 || b.Subscribers != dc.BcastSubs || b.P50 <= 0 {
			t.Errorf("%s broadcast: %+v", v, b)
		}
	}
}

// checkTLSSmoke checks the wss:// jobs: connections held over TLS, every
// echo back, new connections opened with and without resumption.
func checkTLSSmoke(t *testing.T, cfg Config, res *Results) {
	t.Helper()
	if res.TLS == nil {
		t.Fatal("no TLS results")
	}
	s := summarizeTLS(res.TLS)
	if len(s.errs) > 0 {
		t.Fatalf("TLS errors:\n%s", strings.Join(s.errs, "\n"))
	}
	tc := cfg.TLS
	for _, name := range tc.Servers {
		if pts := s.mem[name]; len(pts) != 1 || pts[0].Conns != tc.Levels[0] || pts[0].RSSPer == 0 {
			t.Errorf("%s TLS memory: %+v", name, pts)
		}
		if eps := s.echo[name]; len(eps) != 1 || eps[0].Rate <= 0 || eps[0].Errors != 0 {
			t.Errorf("%s TLS echo: %+v", name, eps)
		}
	}
	for _, name := range tc.HSServers {
		for _, k := range tc.Keys {
			for _, resume := range []bool{false, true} {
				h, ok := s.hs[hsKey{name, k, resume}]
				if !ok || h.Opened == 0 || h.Failed != 0 || h.CPUPer <= 0 || (h.Resumed > 0) != resume {
					t.Errorf("%s %s resume=%v: %+v", name, k, resume, h)
				}
			}
		}
	}
}
