package suite

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Summary holds the medians over rounds.
type Summary struct {
	Levels []int
	Mem    map[string][]MemPoint // server -> one point per level (medians)
	Echo   map[string][]EchoPoint
	Bcast  map[string]BcastRun
	Large  map[string][]LargePoint // one point per size of Config.Large
	Stall  map[string]StallSummary
	Errors []string
}

// StallSummary is the medians over rounds of one server's stall jobs.
type StallSummary struct {
	Sent, Held             int
	RSSPer, HeapPer, Ratio float64
	Unread                 float64 // bytes left in kernel queues
	// Closed is the RSS after every connection closed less the RSS before
	// the partial messages were sent (with the connections idle then), bytes.
	Closed float64
}

// Summarize takes medians over rounds.
func Summarize(r *Results) Summary {
	s := Summary{Levels: r.Config.Levels, Mem: map[string][]MemPoint{}, Echo: map[string][]EchoPoint{}, Bcast: map[string]BcastRun{},
		Large: map[string][]LargePoint{}, Stall: map[string]StallSummary{}}
	for _, srv := range r.Config.Servers {
		var pts []MemPoint
		for li := range r.Config.Levels {
			var rss, heap, stack, conns []float64
			for _, m := range r.Mem {
				if m.Server == srv.Name && li < len(m.Points) {
					p := m.Points[li]
					rss, heap, stack, conns = append(rss, p.RSSPer), append(heap, p.HeapPer), append(stack, p.StackPer), append(conns, float64(p.Conns))
				}
			}
			if len(rss) == 0 {
				break
			}
			pts = append(pts, MemPoint{Conns: int(median(conns)), RSSPer: median(rss), HeapPer: median(heap), StackPer: median(stack)})
		}
		if pts != nil {
			s.Mem[srv.Name] = pts
		}
		var eps []EchoPoint
		for si, size := range r.Config.EchoSizes {
			var rate, p50, p99, cpu []float64
			var errs int64
			for _, e := range r.Echo {
				if e.Server == srv.Name && si < len(e.Points) {
					p := e.Points[si]
					rate, p50, p99 = append(rate, p.Rate), append(p50, float64(p.P50)), append(p99, float64(p.P99))
					cpu = append(cpu, p.CPUPerMsg)
					errs += p.Errors
				}
			}
			if len(rate) == 0 {
				break
			}
			eps = append(eps, EchoPoint{Size: size, Conns: r.Config.EchoConns, Rate: median(rate), P50: int64(median(p50)), P99: int64(median(p99)), Errors: errs, CPUPerMsg: median(cpu)})
		}
		if eps != nil {
			s.Echo[srv.Name] = eps
		}
		var p50, p99, cpu []float64
		var b BcastRun
		for _, x := range r.Bcast {
			if x.Server == srv.Name && x.Complete > 0 {
				p50, p99 = append(p50, float64(x.P50)), append(p99, float64(x.P99))
				cpu = append(cpu, x.CPUPerDelivery)
				b.Subscribers = x.Subscribers
				b.Publishes += x.Publishes
				b.Complete += x.Complete
				b.Lost += x.Lost
			}
		}
		if len(p50) > 0 {
			b.Server = srv.Name
			b.P50, b.P99 = int64(median(p50)), int64(median(p99))
			b.CPUPerDelivery = median(cpu)
			s.Bcast[srv.Name] = b
		}
		if lps := summarizeLarge(r, srv.Name); lps != nil {
			s.Large[srv.Name] = lps
		}
		if st, ok := summarizeStall(r, srv.Name); ok {
			s.Stall[srv.Name] = st
		}
	}
	for _, m := range r.Mem {
		if m.Err != "" {
			s.Errors = append(s.Errors, fmt.Sprintf("round %d memory %s: %s", m.Round, m.Server, m.Err))
		}
	}
	for _, e := range r.Echo {
		if e.Err != "" {
			s.Errors = append(s.Errors, fmt.Sprintf("round %d echo %s: %s", e.Round, e.Server, e.Err))
		}
	}
	for _, b := range r.Bcast {
		if b.Err != "" {
			s.Errors = append(s.Errors, fmt.Sprintf("round %d broadcast %s: %s", b.Round, b.Server, b.Err))
		}
	}
	for _, l := range r.Large {
		if l.Err != "" {
			s.Errors = append(s.Errors, fmt.Sprintf("round %d large-message echo %s: %s", l.Round, l.Server, l.Err))
		}
	}
	for _, x := range r.Stall {
		if x.Err != "" {
			s.Errors = append(s.Errors, fmt.Sprintf("round %d stalled messages %s: %s", x.Round, x.Server, x.Err))
		}
	}
	return s
}

// summarizeLarge takes the medians over rounds of one server's large-message
// echoes, size by size (nil: none measured).
func summarizeLarge(r *Results, server string) []LargePoint {
	var out []LargePoint
	for si, l := range r.Config.Large {
		var rate, p50, p99, cpu, cpuMiB []float64
		var msgs, errs int64
		for _, run := range r.Large {
			if run.Server == server && si < len(run.Points) {
				p := run.Points[si]
				rate, p50, p99 = append(rate, p.Rate), append(p50, float64(p.P50)), append(p99, float64(p.P99))
				cpu, cpuMiB = append(cpu, p.CPUPerMsg), append(cpuMiB, p.CPUPerMiB)
				msgs += p.Msgs
				errs += p.Errors
			}
		}
		if len(rate) == 0 {
			break
		}
		out = append(out, LargePoint{Size: l.Size, Conns: l.Conns, Msgs: msgs, Rate: median(rate), P50: int64(median(p50)), P99: int64(median(p99)),
			Errors: errs, CPUPerMsg: median(cpu), CPUPerMiB: median(cpuMiB)})
	}
	return out
}

// summarizeStall takes the medians over rounds of one server's stall jobs
// that sent partial messages.
func summarizeStall(r *Results, server string) (StallSummary, bool) {
	var rss, heap, ratio, held, sent, closed, unread []float64
	for _, x := range r.Stall {
		if x.Server == server && x.Sent > 0 {
			rss, heap, ratio = append(rss, x.RSSPer), append(heap, x.HeapPer), append(ratio, x.Ratio)
			held, sent = append(held, float64(x.Held)), append(sent, float64(x.Sent))
			closed = append(closed, float64(x.ClosedRSS)-float64(x.BaseRSS))
			unread = append(unread, float64(x.Unread))
		}
	}
	if len(rss) == 0 {
		return StallSummary{}, false
	}
	return StallSummary{
		Sent: int(median(sent)), Held: int(median(held)),
		RSSPer: median(rss), HeapPer: median(heap), Ratio: median(ratio), Closed: median(closed), Unread: median(unread),
	}, true
}

func bytesStr(v float64) string {
	switch {
	case math.Abs(v) >= 1<<20:
		return fmt.Sprintf("%.2f MB", v/(1<<20))
	case math.Abs(v) >= 10*1024:
		return fmt.Sprintf("%.1f KB", v/1024)
	case math.Abs(v) >= 1024:
		return fmt.Sprintf("%.2f KB", v/1024)
	default:
		return fmt.Sprintf("%.0f B", v)
	}
}

func durStr(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	}
}

func ratio(v, ref float64) string {
	if ref == 0 || v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v/ref)
}

func sizeStr(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

func (r *Results) title(name string) string {
	for _, s := range r.Config.Servers {
		if s.Name == name {
			return s.Title
		}
	}
	return name
}

// WriteReport writes the markdown report to mdPath and the plots to imgDir
// (linked from the report by relative path). notes, when not empty, is the
// hand-written analysis included at the end.
func WriteReport(r *Results, mdPath, imgDir, notes string) error {
	s := Summarize(r)
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(mdPath), imgDir)
	if err != nil {
		rel = imgDir
	}
	imgs, err := writePlots(r, s, imgDir)
	if err != nil {
		return err
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	top := len(s.Levels) - 1
	sb := "switchboard"

	w("# Benchmarks\n\n")
	w("Generated by `make -C benchmarks %s` (`benchmarks/cmd/bench`) on %s; the run took %.1f minutes. ",
		map[string]string{"full": "bench", "quick": "bench-quick", "smoke": "smoke"}[r.Config.Name],
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Took/60)
	w("Every figure is the median over %d interleaved round(s); the raw figures of each round are in `benchmarks/out/%s/results.json` after a run.\n\n", r.Config.Rounds, r.Config.Name)

	w("## Machine, versions, method\n\n")
	e := r.Env
	w("- Machine: %s, %d cores, %s memory, Linux %s, open-file limit %d per process, client ports %s per source address.\n", e.CPU, e.Cores, e.MemTotal, e.Kernel, e.NoFile, e.PortRange)
	w("- The machine is shared with other jobs: load average %s at the start, %s at the end. Servers and the load generator share the same 2 cores (nothing is pinned).\n", e.LoadStart, e.LoadEnd)
	w("- %s; switchboard at commit %s; peers: %s.\n", e.Go, orDash(e.Commit), strings.Join(e.moduleList(), ", "))
	w("- Servers (`benchmarks/servers/<name>/main.go`) all behave the same: echo every message; a message whose first byte is `B` goes to every connection, the sender included. Each uses its library's recommended settings, compression off, heartbeats where the library offers them (switchboard: engine defaults, a ping after 25 s quiet and a 10 s pong timeout; gws: the 35 s read deadline of its README, renewed by pings; nbio: its 120 s keepalive deadline; gorilla and coder/websocket have none built in). The load generator pings every connection every 20 s so deadline-based heartbeats stay alive.\n")
	w("- Load generator: `benchmarks/cmd/loadgen` (one reader goroutine per connection, a minimal client of its own, the same against every server), with connections spread over worker processes (≤ 15000 each) and source addresses (≤ 10000 each, from 127.0.x.2 up, a fresh block per job).\n")
	w("- Jobs run one server at a time, interleaved: memory for every server, then echo for every server, then broadcast, large-message echo and stalled partial messages, and again for the next round with the server order rotated.\n")
	if len(r.Mem) > 0 {
		w("- Memory: after a warm-up (100 connections, 5 echoes each, closed), the server runs `runtime.GC` + `debug.FreeOSMemory` and its VmRSS and `HeapInuse` are the baseline; then idle upgraded connections are added up to each level; once the server reports holding them all, it collects again and the figures are (value − baseline) / connections.\n")
	}
	if len(r.Echo) > 0 {
		w("- Echo: %d connections, each sending %d binary messages one after another (the next when the echo is back), after a warm-up of a tenth of that; messages/s = round trips / wall time; latency = round trip per message.\n", r.Config.EchoConns, r.Config.EchoMsgs)
	}
	if len(r.Bcast) > 0 {
		w("- Broadcast: %d subscribers; one of them publishes %d messages of %d B, each after every subscriber received the one before and %v more; completion = time from send until the last subscriber has it (timestamps in the payload, same clock).\n", r.Config.BcastSubs, r.Config.BcastK, r.Config.BcastSize, r.Config.BcastGap)
	}
	if len(r.Large) > 0 {
		w("- Large messages: every server is started with `-max-message %d` (messages up to %s admitted; switchboard also without its per-connection rate limits and with a %s outbound limit). For each size in turn, its connections each send binary messages of that size one after another (one in flight per connection, the next when the echo is back), after one warm-up message each; no new message is sent after %v at one size. The gnet floor echoes the same bytes with no framing; a message is back once all its bytes are. Server CPU per MiB = the server's user + system CPU time over the measured messages / MiB of payload received (each also sent back).\n", largeMax, sizeStr(largeMax), sizeStr(2*largeMax), r.Config.LargeTimeout)
	}
	if len(r.Stall) > 0 {
		w("- Stalled partial messages: %d connections are opened and left idle, and the server's RSS and heap after a GC are the baseline; then each connection sends one binary frame whose header declares %s and all of its payload but the last byte, and then nothing (it does not answer pings either, as they would land inside its frame). Once the kernel's socket queues to the server are empty (it has read every byte sent; or once they stopped shrinking for two seconds), the server collects again: (value − baseline) / partial messages. Then every connection is closed and the RSS read once more. WebSocket servers only, with the large-message settings above.\n", r.Config.StallConns, sizeStr(r.Config.StallSize))
	}
	w("\n")
	w("Reproduce: `make -C benchmarks bench` (full, < 15 min), `make -C benchmarks bench-quick` (< 2 min, written to `benchmarks/out/quick/`), or one server by hand: `benchmarks/bin/switchboard -addr 127.0.0.1:9001` and `benchmarks/bin/loadgen idle|echo|broadcast|stall -addr 127.0.0.1:9001 ...` (for the large-message jobs add `-max-message 33554432` to the server); `benchmarks/bin/bench -mode quick -jobs large,stall` runs only those jobs.\n\n")

	// Memory
	if len(r.Mem) > 0 {
		w("## Memory per idle upgraded connection\n\n")
		w("RSS per connection (Go heap in-use per connection in parentheses; for goroutine-per-connection servers most of the rest is goroutine stacks):\n\n")
		w("| server |")
		for _, n := range s.Levels {
			w(" %s |", countStr(n))
		}
		w(" RSS vs switchboard at %s |\n|---|", countStr(s.Levels[top]))
		for range s.Levels {
			w("---:|")
		}
		w("---:|\n")
		ref := memAt(s, sb, top)
		for _, srv := range r.Config.Servers {
			pts := s.Mem[srv.Name]
			w("| %s |", srv.Title)
			for li := range s.Levels {
				if li < len(pts) {
					w(" %s (%s) |", bytesStr(pts[li].RSSPer), bytesStr(pts[li].HeapPer))
				} else {
					w(" — |")
				}
			}
			w(" %s |\n", ratio(memAt(s, srv.Name, top), ref))
		}
		w("\n![memory per connection](%s/%s)\n\n", rel, imgs.memRSS)
		w("![heap per connection](%s/%s)\n\n", rel, imgs.memHeap)
	}
	// Echo
	if len(r.Echo) > 0 {
		w("## Echo\n\n")
		w("%d connections; messages/s (higher is better), round-trip latency p50 / p99, ratio = messages/s vs switchboard, and the server's CPU time per round trip (lower is better; it moves much less than rates and latencies with what else the machine is doing).\n\n", r.Config.EchoConns)
		w("| server |")
		for _, size := range r.Config.EchoSizes {
			w(" %s msg/s | p50 / p99 | ratio | CPU/msg |", sizeStr(size))
		}
		w("\n|---|")
		for range r.Config.EchoSizes {
			w("---:|---:|---:|---:|")
		}
		w("\n")
		for _, srv := range r.Config.Servers {
			pts := s.Echo[srv.Name]
			w("| %s |", srv.Title)
			for si := range r.Config.EchoSizes {
				if si < len(pts) {
					p := pts[si]
					w(" %.0f | %s / %s | %s | %.1f µs |", p.Rate, durStr(p.P50), durStr(p.P99), ratio(p.Rate, echoAt(s, sb, si)), p.CPUPerMsg/1e3)
				} else {
					w(" — | — | — | — |")
				}
			}
			w("\n")
		}
		w("\n![echo throughput](%s/%s)\n\n![echo CPU per message](%s/%s)\n\n", rel, imgs.echo, rel, imgs.echoCPU)
	}
	// Broadcast
	if len(r.Bcast) > 0 {
		w("## Broadcast\n\n")
		w("%d subscribers, %d B payload; completion latency (lower is better); ratio = p50 vs switchboard; the server's CPU time per message delivered to one subscriber.\n\n", r.Config.BcastSubs, r.Config.BcastSize)
		w("| server | p50 | p99 | ratio | CPU/delivery | publishes complete / sent |\n|---|---:|---:|---:|---:|---:|\n")
		for _, srv := range r.Config.Servers {
			b, ok := s.Bcast[srv.Name]
			if srv.Raw {
				continue
			}
			if !ok {
				w("| %s | — | — | — | — | — |\n", srv.Title)
				continue
			}
			w("| %s | %s | %s | %s | %.0f ns | %d / %d |\n", srv.Title, durStr(b.P50), durStr(b.P99), ratio(float64(b.P50), float64(s.Bcast[sb].P50)), b.CPUPerDelivery, b.Complete, b.Publishes)
		}
		w("\n![broadcast completion](%s/%s)\n\n", rel, imgs.bcast)
	}

	// Large messages and stalled partial messages
	writeLarge(w, r, s, rel, imgs)

	// permessage-deflate (its own run, method, plots and targets)
	if err := writeDeflate(w, r, rel, imgDir); err != nil {
		return err
	}
	// wss:// (likewise)
	if err := writeTLS(w, r, rel, imgDir); err != nil {
		return err
	}

	// 100k
	if len(s.Levels) > 0 && len(r.Mem) > 0 {
		w("## 100k+ connections\n\n")
		w("Not measured: one process may open 20000 files here, so no server holds more than ~19.9k connections on this machine. Projected from the per-connection figures at %s (RSS above the baseline; the kernel adds ~4–5 KB per socket outside RSS):\n\n", countStr(s.Levels[top]))
		w("| server | RSS per connection | projected RSS for 100k | for 1M |\n|---|---:|---:|---:|\n")
		for _, srv := range r.Config.Servers {
			v := memAt(s, srv.Name, top)
			if v == 0 {
				continue
			}
			w("| %s | %s | %.0f MB | %.1f GB |\n", srv.Title, bytesStr(v), v*1e5/1e6, v*1e6/1e9)
		}
		w("\n")
	}

	// Targets
	w("## Targets\n\n")
	for _, line := range targets(r, s) {
		w("- %s\n", line)
	}
	w("\n")

	if len(r.Heap) > 0 {
		w("## Where the per-connection heap goes\n\n")
		w("A separate run of each server below with `runtime.MemProfileRate = 1` (every allocation recorded; that costs memory itself, so these runs are not in the figures above), holding idle connections; `go tool pprof -top -sample_index=inuse_space`, each site divided by the connections held.\n\n")
		for _, h := range r.Heap {
			w("%s at %s connections: %s of heap per connection in all (fixed costs included).\n\n| bytes per connection | allocated in |\n|---:|---|\n", r.title(h.Server), countStr(h.Conns), bytesStr(h.Total))
			for _, row := range h.Rows {
				if row.PerConn < 1 {
					continue
				}
				w("| %.0f | `%s` |\n", row.PerConn, row.Func)
			}
			w("\n")
		}
	}
	w("## Run health\n\n")
	var bad []string
	var tot Health
	var others []float64
	var waited float64
	for _, h := range r.Health {
		tot.Drops += h.Drops
		tot.Retrans += h.Retrans
		tot.RTOs += h.RTOs
		tot.Probes += h.Probes
		// memory jobs read no timings: losses while thousands connect at
		// once change nothing they report
		if h.spoiled() && !strings.Contains(h.Job, "-mem-") {
			bad = append(bad, fmt.Sprintf("%s (%d dropped, %d timeouts, load %s)", h.Job, h.Drops, h.RTOs, h.Load))
		}
		others = append(others, h.OthersCPU)
		waited += h.Waited
	}
	if len(others) > 0 && r.Config.CalmWait > 0 {
		sorted := append([]float64(nil), others...)
		sort.Float64s(sorted)
		w("Other processes on the machine used %.0f%% of its CPU just before a job in the median, %.0f%% at most (the runner waited %.0f s in all for quieter moments; they may start again during a job). ", 100*median(others), 100*sorted[len(sorted)-1], waited)
	}
	w("Over the %d jobs the machine (all its processes, not only these) counted %d loopback packets dropped for a full per-CPU backlog (`net.core.netdev_max_backlog` = %d), %d TCP retransmission timeouts and %d tail-loss probes (%d retransmitted segments in all; a probe is a cheap retransmission after about two round trips without an ACK, the mark of a CPU-starved receiver, not a loss). ",
		len(r.Health), tot.Drops, r.Env.Backlog, tot.RTOs, tot.Probes, tot.Retrans)
	if len(bad) == 0 {
		w("No echo or broadcast job saw a drop or a timeout.\n\n")
	} else {
		w("Echo and broadcast jobs during which a drop or a timeout (≥ 200 ms) happened somewhere on the machine: %s.\n\n", strings.Join(bad, "; "))
	}
	if len(s.Errors) > 0 {
		w("## Problems during the run\n\n")
		for _, e := range s.Errors {
			w("- %s\n", e)
		}
		w("\n")
	}
	if strings.TrimSpace(notes) != "" {
		w("%s\n", strings.TrimSpace(notes))
	}
	return os.WriteFile(mdPath, []byte(b.String()), 0o644)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func countStr(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func memAt(s Summary, server string, li int) float64 {
	pts := s.Mem[server]
	if li < 0 || li >= len(pts) {
		return 0
	}
	return pts[li].RSSPer
}

func echoAt(s Summary, server string, si int) float64 {
	pts := s.Echo[server]
	if si >= len(pts) {
		return 0
	}
	return pts[si].Rate
}

// targets states each target of the issue as met or missed, with margins.
func targets(r *Results, s Summary) []string {
	var out []string
	sb := "switchboard"
	for li, n := range s.Levels {
		if n < 10000 && li != len(s.Levels)-1 {
			continue
		}
		v, floor, nb := memAt(s, sb, li), memAt(s, "gnet", li), memAt(s, "nbio", li)
		if v > 0 && floor > 0 {
			out = append(out, verdict(v <= 1.2*floor, fmt.Sprintf("RSS per idle connection at %s within 1.2× of bare gnet: %s vs %s = %.2f×", countStr(n), bytesStr(v), bytesStr(floor), v/floor)))
		}
		if v > 0 && nb > 0 {
			out = append(out, verdict(v <= 0.55*nb, fmt.Sprintf("RSS per idle connection at %s at most 0.55× of nbio: %s vs %s = %.2f×", countStr(n), bytesStr(v), bytesStr(nb), v/nb)))
		}
	}
	for si, size := range r.Config.EchoSizes {
		v := echoAt(s, sb, si)
		best, who := 0.0, ""
		for _, srv := range r.Config.Servers {
			if srv.Name == sb || srv.Raw {
				continue
			}
			if x := echoAt(s, srv.Name, si); x > best {
				best, who = x, srv.Title
			}
		}
		if v > 0 && best > 0 {
			out = append(out, verdict(v > best, fmt.Sprintf("echo %s ahead of every peer: %.0f msg/s vs best peer %s %.0f msg/s = %.2f×", sizeStr(size), v, who, best, v/best)))
		}
	}
	if b, ok := s.Bcast[sb]; ok {
		var best int64
		who := ""
		for _, srv := range r.Config.Servers {
			if x, ok := s.Bcast[srv.Name]; ok && srv.Name != sb && (best == 0 || x.P50 < best) {
				best, who = x.P50, srv.Title
			}
		}
		if best > 0 {
			out = append(out, verdict(b.P50 < best, fmt.Sprintf("broadcast completion faster than every peer (p50): %s vs best peer %s %s = %.2f×", durStr(b.P50), who, durStr(best), float64(b.P50)/float64(best))))
		}
	}
	// Supplementary: CPU per unit of work, which other tenants of the
	// machine do not move the way they move rates and latencies.
	for si, size := range r.Config.EchoSizes {
		pts := s.Echo[sb]
		if si >= len(pts) || pts[si].CPUPerMsg == 0 {
			continue
		}
		best, who := 0.0, ""
		for _, srv := range r.Config.Servers {
			if p := s.Echo[srv.Name]; srv.Name != sb && !srv.Raw && si < len(p) && p[si].CPUPerMsg > 0 && (best == 0 || p[si].CPUPerMsg < best) {
				best, who = p[si].CPUPerMsg, srv.Title
			}
		}
		if best > 0 {
			v := pts[si].CPUPerMsg
			out = append(out, "(supplementary) "+verdict(v < best, fmt.Sprintf("least server CPU per echo round trip, %s: %.1f µs vs best peer %s %.1f µs = %.2f×", sizeStr(size), v/1e3, who, best/1e3, v/best)))
		}
	}
	if b, ok := s.Bcast[sb]; ok && b.CPUPerDelivery > 0 {
		best, who := 0.0, ""
		for _, srv := range r.Config.Servers {
			if x, ok := s.Bcast[srv.Name]; ok && srv.Name != sb && x.CPUPerDelivery > 0 && (best == 0 || x.CPUPerDelivery < best) {
				best, who = x.CPUPerDelivery, srv.Title
			}
		}
		if best > 0 {
			out = append(out, "(supplementary) "+verdict(b.CPUPerDelivery < best, fmt.Sprintf("least server CPU per broadcast delivery: %.0f ns vs best peer %s %.0f ns = %.2f×", b.CPUPerDelivery, who, best, b.CPUPerDelivery/best)))
		}
	}
	return append(out, largeTargets(r, s)...)
}

func verdict(ok bool, s string) string {
	if ok {
		return "**met** — " + s
	}
	return "**missed** — " + s
}
