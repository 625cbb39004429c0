package suite

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// The report's permessage-deflate section: self-contained (its own method,
// command, date, plots and targets), written after the large-message
// sections when the results hold deflate jobs.

// deflateSummary holds the medians over rounds of each variant.
type deflateSummary struct {
	mem   map[DeflateVariant]MemPoint
	echo  map[DeflateVariant][]DeflateEchoPoint // one per size of EchoSizes
	bcast map[DeflateVariant]DeflateBcast
	errs  []string
}

func summarizeDeflate(d *DeflateResults) deflateSummary {
	s := deflateSummary{mem: map[DeflateVariant]MemPoint{}, echo: map[DeflateVariant][]DeflateEchoPoint{}, bcast: map[DeflateVariant]DeflateBcast{}}
	for _, v := range d.Config.Idle {
		var rss, heap, conns []float64
		for _, m := range d.Mem {
			if m.Server == v.Server && m.Mode == v.Mode && m.Level == v.Level && m.Err == "" && m.Point.Conns > 0 {
				rss, heap, conns = append(rss, m.Point.RSSPer), append(heap, m.Point.HeapPer), append(conns, float64(m.Point.Conns))
			}
		}
		if len(rss) > 0 {
			s.mem[v] = MemPoint{Conns: int(median(conns)), RSSPer: median(rss), HeapPer: median(heap)}
		}
	}
	for _, v := range d.Config.Echo {
		var pts []DeflateEchoPoint
		for si, size := range d.Config.EchoSizes {
			var rate, p50, p99, cpu, tx, rx, gen []float64
			var errs, msgs int64
			for _, e := range d.Echo {
				if e.Server == v.Server && e.Mode == v.Mode && e.Level == v.Level && si < len(e.Points) && e.Points[si].Msgs > 0 {
					p := e.Points[si]
					rate, p50, p99, cpu = append(rate, p.Rate), append(p50, float64(p.P50)), append(p99, float64(p.P99)), append(cpu, p.CPUPerMsg)
					tx, rx, gen = append(tx, p.TxPer), append(rx, p.RxPer), append(gen, p.GenCPUPerMsg)
					errs += p.Errors
					msgs += p.Msgs
				}
			}
			if len(rate) == 0 {
				break
			}
			pts = append(pts, DeflateEchoPoint{
				EchoPoint: EchoPoint{Size: size, Conns: d.Config.EchoConns, Msgs: msgs, Rate: median(rate), P50: int64(median(p50)), P99: int64(median(p99)),
					Errors: errs, CPUPerMsg: median(cpu)},
				TxPer: median(tx), RxPer: median(rx), GenCPUPerMsg: median(gen),
			})
		}
		if pts != nil {
			s.echo[v] = pts
		}
	}
	for _, v := range d.Config.Bcast {
		var p50, p99, cpu, gen []float64
		var b DeflateBcast
		for _, x := range d.Bcast {
			if x.Server == v.Server && x.Mode == v.Mode && x.Level == v.Level && x.Complete > 0 {
				p50, p99, cpu = append(p50, float64(x.P50)), append(p99, float64(x.P99)), append(cpu, x.CPUPerDelivery)
				gen = append(gen, x.GenCPUPerDelivery)
				b.Subscribers = x.Subscribers
				b.Publishes += x.Publishes
				b.Complete += x.Complete
				b.Lost += x.Lost
				b.Bad += x.Bad
			}
		}
		if len(p50) > 0 {
			b.Server, b.Mode, b.Level = v.Server, v.Mode, v.Level
			b.P50, b.P99, b.CPUPerDelivery, b.GenCPUPerDelivery = int64(median(p50)), int64(median(p99)), median(cpu), median(gen)
			s.bcast[v] = b
		}
	}
	for _, m := range d.Mem {
		if m.Err != "" {
			s.errs = append(s.errs, fmt.Sprintf("round %d idle %s/%s: %s", m.Round, m.Server, m.Mode, m.Err))
		}
	}
	for _, e := range d.Echo {
		if e.Err != "" {
			s.errs = append(s.errs, fmt.Sprintf("round %d echo %s/%s: %s", e.Round, e.Server, e.Mode, e.Err))
		}
	}
	for _, b := range d.Bcast {
		if b.Err != "" {
			s.errs = append(s.errs, fmt.Sprintf("round %d broadcast %s/%s: %s", b.Round, b.Server, b.Mode, b.Err))
		}
	}
	return s
}

func modeTitle(m string) string {
	switch m {
	case ModeOff:
		return "off"
	case ModeNoContext:
		return "no context takeover"
	case ModeContext:
		return "context takeover"
	}
	return m
}

// modeTitle is v's mode, with its level when set.
func (v DeflateVariant) modeTitle() string {
	if v.Level != 0 {
		return fmt.Sprintf("%s, level %d", modeTitle(v.Mode), v.Level)
	}
	return modeTitle(v.Mode)
}

func (r *Results) variantTitle(v DeflateVariant) string {
	return r.title(v.Server) + ", " + v.modeTitle()
}

// deflatePlotFiles names the section's plots.
type deflatePlotFiles struct{ idle, echo, echoCPU, wire, bcast string }

func writeDeflatePlots(r *Results, s deflateSummary, dir string) (deflatePlotFiles, error) {
	f := deflatePlotFiles{idle: "bench-deflate-idle.png", echo: "bench-deflate-echo.png", echoCPU: "bench-deflate-echo-cpu.png",
		wire: "bench-deflate-wire.png", bcast: "bench-deflate-broadcast.png"}
	d := r.Deflate
	type series struct {
		label string
		vals  func(DeflateVariant, int) float64
	}
	bars := func(path, title, ylabel string, vs []DeflateVariant, ss []series, n int) error {
		p := plot.New()
		p.Title.Text = title
		p.Y.Label.Text = ylabel
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		var names []string
		for _, v := range vs {
			names = append(names, strings.ReplaceAll(r.variantTitle(v), ", ", "\n"))
		}
		w := vg.Points(18)
		top := 0.0
		k := 0
		for _, sr := range ss {
			for i := 0; i < n; i++ {
				vals := make(plotter.Values, len(vs))
				for j, v := range vs {
					vals[j] = max(0, sr.vals(v, i))
					top = max(top, vals[j])
				}
				b, err := plotter.NewBarChart(vals, w)
				if err != nil {
					return err
				}
				b.Color = plotutil.Color(k + 2)
				b.LineStyle.Width = 0
				b.Offset = w * vg.Length(float64(k)-float64(len(ss)*n-1)/2)
				p.Add(b)
				label := sr.label
				if n > 1 {
					label = sizeStr(d.Config.EchoSizes[i]) + " " + label
				}
				p.Legend.Add(strings.TrimSpace(label), b)
				k++
			}
		}
		p.NominalX(names...)
		p.Y.Min, p.Y.Max = 0, top*1.35
		return p.Save(vg.Length(max(8, 1.4*float64(len(vs))))*vg.Inch, 4.8*vg.Inch, path)
	}
	var idle []DeflateVariant
	for _, v := range d.Config.Idle {
		if _, ok := s.mem[v]; ok {
			idle = append(idle, v)
		}
	}
	if len(idle) > 0 {
		if err := bars(filepath.Join(dir, f.idle), fmt.Sprintf("Memory per idle connection, %s connections, deflate as negotiated (lower is better)", countStr(d.Config.IdleConns)), "bytes per connection",
			idle, []series{{"RSS", func(v DeflateVariant, _ int) float64 { return s.mem[v].RSSPer }}, {"Go heap in use", func(v DeflateVariant, _ int) float64 { return s.mem[v].HeapPer }}}, 1); err != nil {
			return f, err
		}
	}
	var echo []DeflateVariant
	for _, v := range d.Config.Echo {
		if _, ok := s.echo[v]; ok {
			echo = append(echo, v)
		}
	}
	at := func(v DeflateVariant, i int) DeflateEchoPoint {
		if pts := s.echo[v]; i < len(pts) {
			return pts[i]
		}
		return DeflateEchoPoint{}
	}
	if len(echo) > 0 {
		n := len(d.Config.EchoSizes)
		if err := bars(filepath.Join(dir, f.echo), fmt.Sprintf("Echo of JSON documents, %d connections: messages/s (higher is better)", d.Config.EchoConns), "round trips / s",
			echo, []series{{"JSON", func(v DeflateVariant, i int) float64 { return at(v, i).Rate }}}, n); err != nil {
			return f, err
		}
		if err := bars(filepath.Join(dir, f.echoCPU), fmt.Sprintf("Echo of JSON documents, %d connections: server CPU per round trip (lower is better)", d.Config.EchoConns), "µs of server CPU per message",
			echo, []series{{"JSON", func(v DeflateVariant, i int) float64 { return at(v, i).CPUPerMsg / 1e3 }}}, n); err != nil {
			return f, err
		}
		if err := bars(filepath.Join(dir, f.wire), "Echo of JSON documents: socket bytes per round trip, both directions (lower is better)", "bytes per round trip (sent + received)",
			echo, []series{{"JSON", func(v DeflateVariant, i int) float64 { p := at(v, i); return p.TxPer + p.RxPer }}}, n); err != nil {
			return f, err
		}
	}
	var bc []DeflateVariant
	for _, v := range d.Config.Bcast {
		if _, ok := s.bcast[v]; ok {
			bc = append(bc, v)
		}
	}
	if len(bc) > 0 {
		if err := bars(filepath.Join(dir, f.bcast), fmt.Sprintf("Broadcast of a %s JSON document to %s subscribers: completion (lower is better)", sizeStr(d.Config.BcastSize), countStr(d.Config.BcastSubs)), "milliseconds until the last subscriber has it",
			bc, []series{{"p50", func(v DeflateVariant, _ int) float64 { return float64(s.bcast[v].P50) / 1e6 }}, {"p99", func(v DeflateVariant, _ int) float64 { return float64(s.bcast[v].P99) / 1e6 }}}, 1); err != nil {
			return f, err
		}
	}
	return f, nil
}

// writeDeflate writes the permessage-deflate section, if the results hold
// deflate jobs.
func writeDeflate(w func(string, ...any), r *Results, rel, imgDir string) error {
	d := r.Deflate
	if d == nil || (len(d.Mem) == 0 && len(d.Echo) == 0 && len(d.Bcast) == 0) {
		return nil
	}
	s := summarizeDeflate(d)
	imgs, err := writeDeflatePlots(r, s, imgDir)
	if err != nil {
		return err
	}
	c := d.Config
	w("## permessage-deflate\n\n")
	runs := d.Runs
	if len(runs) == 0 { // results of a run before Runs existed
		runs = []DeflateRun{{Command: d.Command, Started: d.Started, Took: d.Took, Rounds: c.Rounds, Kinds: []string{"idle", "echo", "bcast"}}}
	}
	cmdFor := func(kind string) string {
		for i := len(runs) - 1; i >= 0; i-- {
			for _, k := range runs[i].Kinds {
				if k == kind {
					return "`" + runs[i].Command + "`"
				}
			}
		}
		return "`" + d.Command + "`"
	}
	var parts []string
	for _, x := range runs {
		parts = append(parts, fmt.Sprintf("`%s` on %s (%s jobs, %d interleaved round(s), %.1f minutes)", x.Command, x.Started.UTC().Format("2006-01-02 15:04 UTC"), strings.Join(x.Kinds, ", "), x.Rounds, x.Took/60))
	}
	w("Measured by %s; the figures are medians over the rounds, and the report is redrawn from `benchmarks/out/full/results.json` by `make -C benchmarks report`. ", strings.Join(parts, "; "))
	w("The same server programs as above, started with `-compression off|no-context-takeover|context-takeover`:\n\n")
	w("- switchboard: `engine.Config.Deflate` (klauspost/compress flate level 1, compressors and decompressors borrowed per message from process-wide pools; under context takeover a 4 KiB window per direction, allocated at the first compressed message), `DeflateThreshold` 128 B; in the echo also with context takeover at level %d (`-compression-level %d`, `Config.DeflateLevel`), the level gws compresses at under context takeover; its broadcast compresses each publish once, alone, within the server's window (12 bits under context takeover, 15 without) for every subscriber whose window takes it, with or without context takeover, as package hub does (under context takeover the connection's next message is then compressed without history). Uncompressed (`off`) it is the floor of each job.\n", GWSContextLevel, GWSContextLevel)
	w("- lxzan/gws v1.8.9: `ServerOption.PermessageDeflate` with its defaults (klauspost/compress level 1, a pool of 32 compressors, threshold 512 B), both takeover modes; under context takeover a 4 KiB window (12 bits) per direction, like switchboard's, and then its compressor is klauspost's `flate.NewWriterWindow`, a level-5 encoder (gws's `Level` does not apply to it); its `Broadcaster` compresses once per publish.\n")
	w("- lesismal/nbio v1.6.8: `Upgrader.EnableCompression(true)`; it always answers no context takeover (it has no other mode), compresses every data message with compress/flate level 1 from a pool, and its broadcast here writes to each connection, so it compresses once per subscriber.\n")
	w("- Documents: JSON generated by `benchmarks/internal/jsondoc` (market-data ticks and chat lines: repeated keys and symbols, varying prices, quantities, timestamps, ids and words), 64 different ones per size, cycled; alone at level 1 they compress about 2.3× at 1 KiB, 3.3× at 4 KiB, 4.2× at 16 KiB. Each message is a binary message: 5 marker bytes (echo) or 13 (broadcast: marker, sequence, send time), then the document, to the size stated.\n")
	w("- Load generator: the same `benchmarks/cmd/loadgen`, on switchboard's public client (package client), offering permessage-deflate on every connection and failing any connection whose 101 does not agree to it as offered: `permessage-deflate; server_no_context_takeover; client_no_context_takeover` for the no-context-takeover servers; for context takeover, `permessage-deflate; client_max_window_bits` in the idle and broadcast jobs, as browsers offer it (both sides may keep context, so the server keeps both windows; a server that bounds the client's window gets each message compressed alone within it) and `permessage-deflate; client_no_context_takeover` in the echo (the server keeps its window, the client none). The client compresses every message it sends that gets smaller (switchboard's `internal/pmd`, the same flate code and level) and inflates every message it receives in full, with the server's history when the server keeps context; the generator checks each one's length. In the broadcast, compressed or not, one subscriber in %d is such a client (inflating every publish in full and checking its length); the others are raw connections (the repository's `internal/wstest`, no read deadline per frame), the same in every mode, that read each compressed message as it came and inflate each distinct payload once per worker process (every subscriber receives the same bytes: the copies are compared, not inflated again), without history even under context takeover (a broadcast compressed once for every subscriber is compressed alone; a server that used a connection's history would fail the receiver), checking its length then: the generator shares the 2 cores with the server, and inflating %s × %s per publish would time the generator, not the server. Wire bytes are the bytes the generator's sockets wrote and read after the handshakes (TCP payload: WebSocket frames, both directions; `client.Client.Traffic`), divided by the round trips.\n", load.SampleEvery, countStr(c.BcastSubs), sizeStr(c.BcastSize))
	w("- Jobs, one server at a time, interleaved, server order rotated each round: idle (once the server's heap has settled after its start, a warm-up of 100 connections with 5 compressed echoes each, closed, then the baseline after a GC; then %s connections each echo one %s document and stay idle; memory after a GC, per connection above the baseline), echo (%d connections, %d documents each one after another, after a warm-up of %d, per size), broadcast (%s subscribers, one publishes %d documents of %s, each after every subscriber had the one before and %v more, after 3 warm-up publishes).\n\n",
		countStr(c.IdleConns), sizeStr(c.IdleMsgSize), c.EchoConns, c.EchoMsgs, max(2, c.EchoMsgs/10), countStr(c.BcastSubs), c.BcastK, sizeStr(c.BcastSize), c.BcastGap)

	floorOf := func(server string) (MemPoint, bool) {
		p, ok := s.mem[DeflateVariant{Server: server, Mode: ModeOff}]
		return p, ok
	}
	if len(s.mem) > 0 {
		w("### Idle connections with deflate negotiated\n\n")
		w("%s idle connections, each after one compressed echo of a %s document. Per connection: RSS and Go heap in use above the baseline; Δ = RSS per connection minus the same server's without deflate in the same run (off).\n\n", countStr(c.IdleConns), sizeStr(c.IdleMsgSize))
		w("| server | deflate | RSS per connection | heap per connection | Δ RSS vs off |\n|---|---|---:|---:|---:|\n")
		for _, v := range c.Idle {
			p, ok := s.mem[v]
			if !ok {
				w("| %s | %s | — | — | — |\n", r.title(v.Server), v.modeTitle())
				continue
			}
			delta := "—"
			if f, ok := floorOf(v.Server); ok && v.Mode != ModeOff {
				delta = signedBytes(p.RSSPer - f.RSSPer)
			}
			w("| %s | %s | %s | %s | %s |\n", r.title(v.Server), v.modeTitle(), bytesStr(p.RSSPer), bytesStr(p.HeapPer), delta)
		}
		w("\n![memory per idle connection with deflate](%s/%s)\n\nCommand: %s (idle jobs).\n\n", rel, imgs.idle, cmdFor("idle"))
	}
	if len(s.echo) > 0 {
		w("### Echo of JSON documents\n\n")
		w("%d connections. Messages/s (higher is better), the server's CPU time per round trip (lower is better; the steadier figure: the load generator, compressing nothing per message but inflating every reply, shares the 2 cores and is the bottleneck, so messages/s says as much about it as about the server), the load generator's CPU time per round trip (all its worker processes, from /proc), and socket bytes per round trip (sent / received by the generator).\n\n", c.EchoConns)
		w("| server | deflate |")
		for _, size := range c.EchoSizes {
			w(" %s msg/s | CPU/msg | generator CPU/msg | bytes sent / received |", sizeStr(size))
		}
		w("\n|---|---|")
		for range c.EchoSizes {
			w("---:|---:|---:|---:|")
		}
		w("\n")
		for _, v := range c.Echo {
			pts := s.echo[v]
			w("| %s | %s |", r.title(v.Server), v.modeTitle())
			for si := range c.EchoSizes {
				if si >= len(pts) {
					w(" — | — | — | — |")
					continue
				}
				p := pts[si]
				w(" %.0f | %.1f µs | %.1f µs | %.0f / %.0f |", p.Rate, p.CPUPerMsg/1e3, p.GenCPUPerMsg/1e3, p.TxPer, p.RxPer)
			}
			w("\n")
		}
		w("\n![echo of JSON documents with deflate: messages/s](%s/%s)\n\n![echo with deflate: server CPU per round trip](%s/%s)\n\n![echo with deflate: bytes on the wire](%s/%s)\n\nCommand: %s (echo jobs).\n\n",
			rel, imgs.echo, rel, imgs.echoCPU, rel, imgs.wire, cmdFor("echo"))
	}
	if len(s.bcast) > 0 {
		w("### Broadcast of a JSON document to compressed subscribers\n\n")
		w("%s subscribers, %s document; completion = from send until the last subscriber has it (lower is better); the server's CPU time per delivery, and the load generator's (reading each message; inflating each distinct compressed payload once per worker process, and every message on one subscriber in %d).\n\n", countStr(c.BcastSubs), sizeStr(c.BcastSize), load.SampleEvery)
		w("| server | deflate | p50 | p99 | CPU/delivery | generator CPU/delivery | publishes complete / sent |\n|---|---|---:|---:|---:|---:|---:|\n")
		for _, v := range c.Bcast {
			b, ok := s.bcast[v]
			if !ok {
				w("| %s | %s | — | — | — | — | — |\n", r.title(v.Server), v.modeTitle())
				continue
			}
			w("| %s | %s | %s | %s | %.0f ns | %.0f ns | %d / %d |\n", r.title(v.Server), v.modeTitle(), durStr(b.P50), durStr(b.P99), b.CPUPerDelivery, b.GenCPUPerDelivery, b.Complete, b.Publishes)
		}
		w("\n![broadcast with deflate](%s/%s)\n\nCommand: %s (broadcast jobs).\n\n", rel, imgs.bcast, cmdFor("bcast"))
	}
	w("### Targets (issue 12)\n\n")
	for _, line := range deflateTargets(r, s) {
		w("- %s\n", line)
	}
	w("\n")
	var bad []string
	for _, h := range d.Health {
		if h.spoiled() && !strings.Contains(h.Job, "-idle-") {
			bad = append(bad, fmt.Sprintf("%s (%d dropped, %d timeouts, load %s)", h.Job, h.Drops, h.RTOs, h.Load))
		}
	}
	if len(bad) > 0 {
		w("Jobs during which the machine dropped loopback packets or timed out a retransmission: %s.\n\n", strings.Join(bad, "; "))
	} else if len(d.Health) > 0 {
		w("No echo or broadcast job of this section saw a loopback drop or a retransmission timeout.\n\n")
	}
	if len(s.errs) > 0 {
		w("Problems during these jobs:\n\n")
		for _, e := range s.errs {
			w("- %s\n", e)
		}
		w("\n")
	}
	return nil
}

func signedBytes(v float64) string {
	if v >= 0 {
		return "+" + bytesStr(v)
	}
	return "−" + bytesStr(-v)
}

// deflateTargets states issue 12's measurable targets as met or missed.
func deflateTargets(r *Results, s deflateSummary) []string {
	var out []string
	sb := func(m string) DeflateVariant { return DeflateVariant{Server: "switchboard", Mode: m} }
	off, okOff := s.mem[sb(ModeOff)]
	if nc, ok := s.mem[sb(ModeNoContext)]; ok && okOff {
		// "no more": within the run-to-run noise of RSS per connection,
		// which the jobs show to be some tens of bytes; stated exactly.
		out = append(out, verdict(nc.RSSPer <= off.RSSPer+32, fmt.Sprintf("an idle connection with deflate and no context takeover costs no more than one without (same run, within 32 B of noise): %s vs %s, Δ %s",
			bytesStr(nc.RSSPer), bytesStr(off.RSSPer), signedBytes(nc.RSSPer-off.RSSPer))))
	}
	if ct, ok := s.mem[sb(ModeContext)]; ok && okOff {
		window := 2 * 4096.0 // both directions, 12 bits each (the servers' -compression-window default)
		out = append(out, verdict(ct.RSSPer-off.RSSPer <= window, fmt.Sprintf("with context takeover at most its windows above (2 × 4 KiB = %s): Δ %s",
			bytesStr(window), signedBytes(ct.RSSPer-off.RSSPer))))
	}
	for _, m := range []string{ModeNoContext, ModeContext} {
		for si, size := range r.Deflate.Config.EchoSizes {
			// at the same level: under context takeover gws compresses
			// at GWSContextLevel, so switchboard's echo at that level
			// (when the run has it) is the one compared
			v := sb(m)
			if _, ok := s.echo[DeflateVariant{Server: "switchboard", Mode: m, Level: GWSContextLevel}]; ok && m == ModeContext {
				v.Level = GWSContextLevel
			}
			a, b := s.echo[v], s.echo[DeflateVariant{Server: "gws", Mode: m}]
			if si >= len(a) || si >= len(b) {
				continue
			}
			x, y := a[si], b[si]
			out = append(out, verdict(x.Rate >= y.Rate, fmt.Sprintf("echo %s JSON, %s: msgs/s at least gws's: %.0f vs %.0f = %.2f× (server CPU per message %.1f vs %.1f µs = %.2f×)",
				sizeStr(size), v.modeTitle(), x.Rate, y.Rate, x.Rate/y.Rate, x.CPUPerMsg/1e3, y.CPUPerMsg/1e3, x.CPUPerMsg/max(y.CPUPerMsg, 1))))
			// the server's side of the wire: what it sends (the client's
			// messages are the same bytes for both)
			out = append(out, verdict(x.RxPer <= 1.05*y.RxPer, fmt.Sprintf("echo %s JSON, %s: bytes the server sends within 5%% of gws's at the same level: %.0f vs %.0f B per message = %.3f× (both directions: %.0f vs %.0f B per round trip = %.3f×)",
				sizeStr(size), v.modeTitle(), x.RxPer, y.RxPer, x.RxPer/y.RxPer, x.TxPer+x.RxPer, y.TxPer+y.RxPer, (x.TxPer+x.RxPer)/(y.TxPer+y.RxPer))))
		}
	}
	if z, ok := s.bcast[sb(ModeNoContext)]; ok {
		if p, ok := s.bcast[sb(ModeOff)]; ok && p.P50 > 0 {
			out = append(out, verdict(float64(z.P50) <= 1.2*float64(p.P50), fmt.Sprintf("broadcast completion with compression within 1.2× of uncompressed (p50): %s vs %s = %.2f× (server CPU per delivery %.0f vs %.0f ns = %.2f×; load generator's %.0f vs %.0f ns)",
				durStr(z.P50), durStr(p.P50), float64(z.P50)/float64(p.P50), z.CPUPerDelivery, p.CPUPerDelivery, z.CPUPerDelivery/max(p.CPUPerDelivery, 1), z.GenCPUPerDelivery, p.GenCPUPerDelivery)))
		}
		if g, ok := s.bcast[DeflateVariant{Server: "gws", Mode: ModeNoContext}]; ok && g.P50 > 0 {
			out = append(out, "(supplementary) "+verdict(z.P50 <= g.P50, fmt.Sprintf("compressed broadcast completion vs gws compressed (p50): %s vs %s = %.2f×", durStr(z.P50), durStr(g.P50), float64(z.P50)/float64(g.P50))))
		}
	}
	return out
}
