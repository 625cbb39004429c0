// Command bench builds the benchmark servers and the load generator, runs
// them interleaved (see package suite) and writes the report: for -mode
// full, docs/benchmarks.md and docs/img/bench-*.png; otherwise under
// out/<mode>/. Run it from the benchmarks directory (make does).
//
//	go run ./cmd/bench -mode quick
//	go run ./cmd/bench -mode full
//	go run ./cmd/bench -report-only -mode full   # rewrite the report from out/full/results.json
//	go run ./cmd/bench -mode quick -jobs large,stall   # only the large-message and stall jobs
//	./bin/bench -mode full -build=false -jobs deflate   # only the permessage-deflate jobs
//	./bin/bench -mode full -build=false -jobs tls       # only the wss:// jobs
//
// A run limited with -jobs keeps the other kinds' results of the stored
// <out>/results.json (-merge, on by default) and rewrites the report from
// both.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/suite"
)

func main() {
	mode := flag.String("mode", "quick", "full, quick or smoke")
	rounds := flag.Int("rounds", 0, "rounds of every kind of job (0: the mode's defaults)")
	servers := flag.String("servers", "", "comma-separated servers to run (default all)")
	jobs := flag.String("jobs", "", "comma-separated kinds of job to run: "+strings.Join(suite.JobKinds, ",")+",profile,deflate,tls (default all)")
	deflateKinds := flag.String("deflate-kinds", "idle,echo,bcast", "the deflate jobs to run: idle, echo, bcast")
	merge := flag.Bool("merge", true, "with -jobs: keep the results of the other kinds from <out>/results.json")
	bin := flag.String("bin", "bin", "directory for the built binaries")
	build := flag.Bool("build", true, "build servers and loadgen first")
	out := flag.String("out", "", "directory for logs, profiles, results.json (default out/<mode>)")
	md := flag.String("md", "", "report path (default ../docs/benchmarks.md for full, <out>/benchmarks.md otherwise)")
	img := flag.String("img", "", "plot directory (default ../docs/img for full, <out>/img otherwise)")
	notes := flag.String("notes", "NOTES.md", "hand-written analysis appended to the report")
	reportOnly := flag.Bool("report-only", false, "only rewrite the report from <out>/results.json")
	flag.Parse()

	var cfg suite.Config
	switch *mode {
	case "full":
		cfg = suite.Full()
	case "quick":
		cfg = suite.Quick()
	case "smoke":
		cfg = suite.Smoke()
	default:
		fail(fmt.Errorf("unknown -mode %q", *mode))
	}
	if *rounds > 0 {
		cfg.Rounds = *rounds
		cfg.Deflate.Rounds, cfg.TLS.Rounds = *rounds, *rounds
	}
	kinds := strings.Split(*deflateKinds, ",")
	if !contains(kinds, "idle") {
		cfg.Deflate.Idle = nil
	}
	if !contains(kinds, "echo") {
		cfg.Deflate.Echo = nil
	}
	if !contains(kinds, "bcast") {
		cfg.Deflate.Bcast = nil
	}
	if *out == "" {
		*out = filepath.Join("out", *mode)
	}
	if *md == "" {
		*md = filepath.Join(*out, "benchmarks.md")
		if *mode == "full" {
			*md = filepath.Join("..", "docs", "benchmarks.md")
		}
	}
	if *img == "" {
		*img = filepath.Join(*out, "img")
		if *mode == "full" {
			*img = filepath.Join("..", "docs", "img")
		}
	}
	cfg.BinDir, cfg.OutDir, cfg.Progress = *bin, *out, os.Stderr
	if *jobs != "" {
		for _, k := range strings.Split(*jobs, ",") {
			k = strings.TrimSpace(k)
			if k != "profile" && k != "deflate" && k != "tls" && !contains(suite.JobKinds, k) {
				fail(fmt.Errorf("unknown job kind %q", k))
			}
			cfg.Jobs = append(cfg.Jobs, k)
		}
	}
	for _, s := range suite.Servers {
		if *servers == "" || contains(strings.Split(*servers, ","), s.Name) {
			cfg.Servers = append(cfg.Servers, s)
		}
	}
	var notesText string
	if b, err := os.ReadFile(*notes); err == nil {
		notesText = string(b)
	}

	var res *suite.Results
	if *reportOnly {
		b, err := os.ReadFile(filepath.Join(*out, "results.json"))
		if err != nil {
			fail(err)
		}
		res = new(suite.Results)
		if err := json.Unmarshal(b, res); err != nil {
			fail(err)
		}
	} else {
		if *build {
			fmt.Fprintln(os.Stderr, "building servers and loadgen into", *bin)
			cmd := exec.Command("go", "build", "-o", *bin+string(filepath.Separator), "./cmd/loadgen", "./servers/...")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fail(err)
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		suite.DeflateCommand = "cd benchmarks && ./bin/bench " + strings.Join(os.Args[1:], " ")
		suite.TLSCommand = suite.DeflateCommand
		var old *suite.Results
		stored := filepath.Join(*out, "results.json")
		if b, err := os.ReadFile(stored); err == nil && *merge && len(cfg.Jobs) > 0 {
			old = new(suite.Results)
			if err := json.Unmarshal(b, old); err != nil {
				fail(fmt.Errorf("%s: %w", stored, err))
			}
		}
		var err error
		res, err = suite.Run(ctx, cfg)
		if err != nil {
			fail(err)
		}
		if old != nil {
			res = suite.Merge(old, res, cfg.Jobs)
			b, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				fail(err)
			}
			if err := os.WriteFile(stored, b, 0o644); err != nil {
				fail(err)
			}
			fmt.Fprintf(os.Stderr, "merged into %s\n", stored)
		}
	}
	if err := suite.WriteReport(res, *md, *img, notesText); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "report: %s (plots in %s)\n", *md, *img)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if strings.TrimSpace(y) == x {
			return true
		}
	}
	return false
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
