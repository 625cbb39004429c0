package suite

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// The report's TLS section: self-contained like the permessage-deflate one.

type tlsSummary struct {
	mem  map[string][]MemPoint  // server -> one point per level
	echo map[string][]EchoPoint // server -> one point per size
	hs   map[hsKey]TLSHandshake
	errs []string
}

type hsKey struct {
	server, key string
	resume      bool
}

func summarizeTLS(t *TLSResults) tlsSummary {
	c := t.Config
	s := tlsSummary{mem: map[string][]MemPoint{}, echo: map[string][]EchoPoint{}, hs: map[hsKey]TLSHandshake{}}
	for _, name := range c.Servers {
		var pts []MemPoint
		for li := range c.Levels {
			var rss, heap, conns []float64
			for _, m := range t.Mem {
				if m.Server == name && li < len(m.Points) {
					p := m.Points[li]
					rss, heap, conns = append(rss, p.RSSPer), append(heap, p.HeapPer), append(conns, float64(p.Conns))
				}
			}
			if len(rss) == 0 {
				break
			}
			pts = append(pts, MemPoint{Conns: int(median(conns)), RSSPer: median(rss), HeapPer: median(heap)})
		}
		if pts != nil {
			s.mem[name] = pts
		}
		var eps []EchoPoint
		for si, size := range c.EchoSizes {
			var rate, p50, p99, cpu []float64
			var errs int64
			for _, e := range t.Echo {
				if e.Server == name && si < len(e.Points) {
					p := e.Points[si]
					rate, p50, p99, cpu = append(rate, p.Rate), append(p50, float64(p.P50)), append(p99, float64(p.P99)), append(cpu, p.CPUPerMsg)
					errs += p.Errors
				}
			}
			if len(rate) == 0 {
				break
			}
			eps = append(eps, EchoPoint{Size: size, Conns: c.EchoConns, Rate: median(rate), P50: int64(median(p50)), P99: int64(median(p99)), Errors: errs, CPUPerMsg: median(cpu)})
		}
		if eps != nil {
			s.echo[name] = eps
		}
	}
	for _, name := range c.HSServers {
		for _, k := range c.Keys {
			for _, resume := range []bool{false, true} {
				var rate, cpu, gen []float64
				var h TLSHandshake
				for _, x := range t.HS {
					if x.Server == name && x.Key == k && x.Resume == resume && x.Opened > 0 {
						rate, cpu, gen = append(rate, x.Rate), append(cpu, x.CPUPer), append(gen, x.GenCPUPer)
						h.Opened += x.Opened
						h.Failed += x.Failed
						h.Resumed += x.Resumed
					}
				}
				if len(rate) > 0 {
					h.Server, h.Key, h.Resume = name, k, resume
					h.Rate, h.CPUPer, h.GenCPUPer = median(rate), median(cpu), median(gen)
					s.hs[hsKey{name, k, resume}] = h
				}
			}
		}
	}
	for _, m := range t.Mem {
		if m.Err != "" {
			s.errs = append(s.errs, fmt.Sprintf("round %d memory %s: %s", m.Round, m.Server, m.Err))
		}
	}
	for _, e := range t.Echo {
		if e.Err != "" {
			s.errs = append(s.errs, fmt.Sprintf("round %d echo %s: %s", e.Round, e.Server, e.Err))
		}
	}
	for _, h := range t.HS {
		if h.Err != "" {
			s.errs = append(s.errs, fmt.Sprintf("round %d handshakes %s %s resume=%v: %s", h.Round, h.Server, h.Key, h.Resume, h.Err))
		}
	}
	return s
}

func writeTLSPlots(r *Results, s tlsSummary, dir string) (mem, echo, hs string, err error) {
	t := r.TLS
	mem, echo, hs = "bench-tls-mem.png", "bench-tls-echo-cpu.png", "bench-tls-handshake.png"
	// memory: RSS per connection against connections, one line per server
	p := plot.New()
	p.Title.Text = "RSS per idle wss:// connection (log scale, lower is better)"
	p.X.Label.Text = "idle connections"
	p.Y.Label.Text = "bytes per connection"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	var ticks []plot.Tick
	for _, n := range t.Config.Levels {
		ticks = append(ticks, plot.Tick{Value: float64(n), Label: countStr(n)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	top := 0.0
	for i, name := range t.Config.Servers {
		var xys plotter.XYs
		for _, pt := range s.mem[name] {
			if pt.RSSPer > 1 {
				xys = append(xys, plotter.XY{X: float64(pt.Conns), Y: pt.RSSPer})
				top = max(top, pt.RSSPer)
			}
		}
		if len(xys) == 0 {
			continue
		}
		if err := addSeries(p, i+2, tlsTitle(r, name), xys); err != nil {
			return mem, echo, hs, err
		}
	}
	if top > 0 {
		p.Y.Max = top * 8
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(dir, mem)); err != nil {
		return mem, echo, hs, err
	}
	// grouped bars
	bars := func(path, title, ylabel string, names []string, labels []string, val func(name string, k int) float64) error {
		p := plot.New()
		p.Title.Text = title
		p.Y.Label.Text = ylabel
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		var titles []string
		for _, n := range names {
			titles = append(titles, tlsTitle(r, n))
		}
		w := vg.Points(16)
		top := 0.0
		for k, l := range labels {
			vals := make(plotter.Values, len(names))
			for i, n := range names {
				vals[i] = max(0, val(n, k))
				top = max(top, vals[i])
			}
			b, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return err
			}
			b.Color = plotutil.Color(k + 2)
			b.LineStyle.Width = 0
			b.Offset = w * vg.Length(float64(k)-float64(len(labels)-1)/2)
			p.Add(b)
			p.Legend.Add(l, b)
		}
		p.NominalX(titles...)
		p.Y.Min, p.Y.Max = 0, top*1.35
		return p.Save(9*vg.Inch, 4.8*vg.Inch, path)
	}
	var labels []string
	for _, size := range t.Config.EchoSizes {
		labels = append(labels, sizeStr(size)+" messages")
	}
	if err := bars(filepath.Join(dir, echo), fmt.Sprintf("Echo over TLS, %d connections: server CPU per round trip (lower is better)", t.Config.EchoConns), "µs of server CPU per message",
		t.Config.Servers, labels, func(n string, k int) float64 {
			if pts := s.echo[n]; k < len(pts) {
				return pts[k].CPUPerMsg / 1e3
			}
			return 0
		}); err != nil {
		return mem, echo, hs, err
	}
	labels = nil
	type kr struct {
		key    string
		resume bool
	}
	var cases []kr
	for _, k := range t.Config.Keys {
		for _, res := range []bool{false, true} {
			cases = append(cases, kr{k, res})
			labels = append(labels, fmt.Sprintf("%s, resumption %s", k, onOff(res)))
		}
	}
	err = bars(filepath.Join(dir, hs), "New wss:// connections: server CPU per connection (TLS handshake + upgrade; lower is better)", "µs of server CPU per connection",
		t.Config.HSServers, labels, func(n string, k int) float64 { return s.hs[hsKey{n, cases[k].key, cases[k].resume}].CPUPer / 1e3 })
	return mem, echo, hs, err
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// writeTLS writes the TLS section, if the results hold TLS jobs.
func writeTLS(w func(string, ...any), r *Results, rel, imgDir string) error {
	t := r.TLS
	if t == nil || (len(t.Mem) == 0 && len(t.Echo) == 0 && len(t.HS) == 0) {
		return nil
	}
	s := summarizeTLS(t)
	memImg, echoImg, hsImg, err := writeTLSPlots(r, s, imgDir)
	if err != nil {
		return err
	}
	c := t.Config
	cmd := "`" + t.Command + "`"
	w("## TLS (wss://)\n\n")
	w("Measured by %s on %s (%d round(s), %.1f minutes; medians over the rounds). The servers of the sections above, started with `-tls-cert`/`-tls-key`: switchboard with `engine.Config.TLS` (crypto/tls handshakes on a bounded worker pool, its own record layer on the event loops; engine defaults otherwise), gws, gorilla and coder/websocket over crypto/tls with its defaults (TLS 1.3, X25519MLKEM768 and X25519 key exchange, session tickets); nbio over lesismal/llib v1.2.2, the non-blocking fork of crypto/tls that nbio v1.6.8 requires, set up the usual way for nbio (`nbhttp.Config.AddrsTLS` with an llib `TLSConfig`); and, for new connections only, `tlsref`: net/http + crypto/tls answering the WebSocket upgrade by hand, nothing else.\n\n", cmd, t.Started.UTC().Format("2006-01-02 15:04 UTC"), c.Rounds, t.Took/60)
	w("- PKI: a CA and a server certificate made at the start of the run by `benchmarks/internal/certs` (crypto/x509), ECDSA P-256 for memory and echo, ECDSA P-256 and RSA-2048 for new connections.\n")
	w("- Load generator: the same `benchmarks/cmd/loadgen`, with crypto/tls (Go's defaults: it offers X25519MLKEM768, so ClientHellos are ~1.5 KB) verifying the server's certificate against the CA; session resumption off (no session cache) or on (a session cache per worker process, shared by its connections). Memory and echo jobs as for plain ws:// above (warm-up, idle connections up to each level; %d connections echoing %d messages each per size). New connections: %d goroutines each open a connection (TCP, TLS handshake, WebSocket upgrade: reading the 101 also takes in TLS 1.3 session tickets), close it (reset) and open the next, for %v per case, after a warm-up of a tenth of that; server and generator CPU per connection from their rusage and /proc.\n\n", c.EchoConns, c.EchoMsgs, c.HSConc, c.HSDur)
	if len(s.mem) > 0 {
		w("### Memory per idle wss:// connection\n\nRSS per connection (Go heap per connection in parentheses), above the server's baseline:\n\n| server |")
		for _, n := range c.Levels {
			w(" %s |", countStr(n))
		}
		w("\n|---|")
		for range c.Levels {
			w("---:|")
		}
		w("\n")
		for _, name := range c.Servers {
			w("| %s |", tlsTitle(r, name))
			pts := s.mem[name]
			for li := range c.Levels {
				if li < len(pts) {
					w(" %s (%s) |", bytesStr(pts[li].RSSPer), bytesStr(pts[li].HeapPer))
				} else {
					w(" — |")
				}
			}
			w("\n")
		}
		w("\n![RSS per idle wss connection](%s/%s)\n\nCommand: %s (mem jobs).\n\n", rel, memImg, cmd)
	}
	if len(s.echo) > 0 {
		w("### Echo over TLS\n\n%d connections; messages/s, round trip p50 / p99, server CPU per round trip (the steadier figure on this shared machine).\n\n| server |", c.EchoConns)
		for _, size := range c.EchoSizes {
			w(" %s msg/s | p50 / p99 | CPU/msg |", sizeStr(size))
		}
		w("\n|---|")
		for range c.EchoSizes {
			w("---:|---:|---:|")
		}
		w("\n")
		for _, name := range c.Servers {
			w("| %s |", tlsTitle(r, name))
			pts := s.echo[name]
			for si := range c.EchoSizes {
				if si < len(pts) {
					p := pts[si]
					w(" %.0f | %s / %s | %.1f µs |", p.Rate, durStr(p.P50), durStr(p.P99), p.CPUPerMsg/1e3)
				} else {
					w(" — | — | — |")
				}
			}
			w("\n")
		}
		w("\n![echo over TLS: server CPU per round trip](%s/%s)\n\nCommand: %s (echo jobs).\n\n", rel, echoImg, cmd)
	}
	if len(s.hs) > 0 {
		w("### New wss:// connections (TLS handshakes)\n\nConnections opened per second (TCP + TLS handshake + WebSocket upgrade, then closed) by %d concurrent clients, the server's and the load generator's CPU time per connection, and the share resumed; the ratios are to net/http + crypto/tls (`tlsref`) in the same case.", c.HSConc)
		switch {
		case t.HSQuota > 0:
			w(" Each server ran on CPU 0 (`taskset -c 0`: GOMAXPROCS 1, one event loop for the event-loop servers), capped at %.0f%% of it (a CFS quota), and the load generator on CPU 1: the generator spends about as much CPU per connection as a server, so with a whole CPU against the server's share it never sets the rate, and connections/s is what each server does with the same CPU budget (when the two share the cores, the generator sets the rate and every server reads about the same).", 100*t.HSQuota)
		case t.HSPinned:
			w(" Each server ran on CPU 0 alone (`taskset -c 0`: GOMAXPROCS 1, one event loop for the event-loop servers) and the load generator on CPU 1. The generator spends about as much CPU per connection as a server, so where it is busier than the server it sets the rate; the server's CPU per connection is the figure to compare there.")
		default:
			w(" Server and load generator shared the machine's CPUs: the generator spends as much CPU per connection as the server or more, so the rates say more about the generator than about the server; the server's CPU per connection is the figure to compare.")
		}
		w("\n\n| server | certificate | resumption | connections/s | rate ratio | server CPU/conn | CPU ratio | generator CPU/conn | resumed |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
		for _, name := range c.HSServers {
			for _, k := range c.Keys {
				for _, res := range []bool{false, true} {
					h, ok := s.hs[hsKey{name, k, res}]
					if !ok {
						w("| %s | %s | %s | — | — | — | — | — | — |\n", tlsTitle(r, name), k, onOff(res))
						continue
					}
					ref := s.hs[hsKey{"tlsref", k, res}]
					w("| %s | %s | %s | %.0f | %s | %.0f µs | %s | %.0f µs | %.0f%% |\n", tlsTitle(r, name), k, onOff(res), h.Rate, ratio(h.Rate, ref.Rate), h.CPUPer/1e3, ratio(h.CPUPer, ref.CPUPer), h.GenCPUPer/1e3, 100*float64(h.Resumed)/float64(max(h.Opened, 1)))
				}
			}
		}
		w("\n![server CPU per new wss connection](%s/%s)\n\nCommand: %s (handshake jobs).\n\n", rel, hsImg, cmd)
	}
	if lines := tlsTargets(t, s); len(lines) > 0 {
		w("### Targets (issue 11)\n\n")
		for _, l := range lines {
			w("- %s\n", l)
		}
		w("\n")
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

func tlsTitle(r *Results, name string) string {
	if name == "tlsref" {
		return "net/http + crypto/tls (tlsref)"
	}
	return r.title(name)
}

// tlsTargets states issue 11's measurable targets for switchboard.
func tlsTargets(t *TLSResults, s tlsSummary) []string {
	var out []string
	sb := s.mem["switchboard"]
	nb := s.mem["nbio"]
	for li, n := range t.Config.Levels {
		if n != 10000 || li >= len(sb) {
			continue
		}
		v := sb[li].RSSPer
		out = append(out, verdict(v <= 3.5*1024, fmt.Sprintf("RSS per idle wss:// connection at 10k at most 3.5 KB (clients offering the default post-quantum key share): %s", bytesStr(v))))
		if li < len(nb) && nb[li].RSSPer > 0 {
			out = append(out, verdict(v <= 0.5*nb[li].RSSPer, fmt.Sprintf("at most half of nbio's in the same run: %s vs %s = %.2f×", bytesStr(v), bytesStr(nb[li].RSSPer), v/nb[li].RSSPer)))
		}
		out = append(out, "(aim) "+verdict(v <= 2*1024, fmt.Sprintf("2 KB or less: %s", bytesStr(v))))
	}
	for si, size := range t.Config.EchoSizes {
		pts := s.echo["switchboard"]
		if si >= len(pts) || pts[si].CPUPerMsg == 0 {
			continue
		}
		best, who := 0.0, ""
		for _, name := range t.Config.Servers {
			if p := s.echo[name]; name != "switchboard" && si < len(p) && p[si].CPUPerMsg > 0 && (best == 0 || p[si].CPUPerMsg < best) {
				best, who = p[si].CPUPerMsg, name
			}
		}
		if best > 0 {
			v := pts[si].CPUPerMsg
			out = append(out, "(supplementary) "+verdict(v < best, fmt.Sprintf("least server CPU per echo round trip over TLS, %s: %.1f µs vs best peer %s %.1f µs = %.2f×", sizeStr(size), v/1e3, who, best/1e3, v/best)))
		}
	}
	for _, k := range t.Config.Keys {
		for _, res := range []bool{false, true} {
			h, ok := s.hs[hsKey{"switchboard", k, res}]
			ref, ok2 := s.hs[hsKey{"tlsref", k, res}]
			if ok && ok2 && ref.Rate > 0 && h.Rate > 0 {
				how := "server and generator sharing the CPUs"
				switch {
				case t.HSQuota > 0:
					how = fmt.Sprintf("each server on %.0f%% of a CPU, the generator on another", 100*t.HSQuota)
				case t.HSPinned:
					how = "each server on one CPU of its own"
				}
				out = append(out, verdict(h.Rate >= ref.Rate, fmt.Sprintf("new connections per second at least net/http + crypto/tls's, %s certificate, resumption %s (%s): %.0f vs %.0f = %.3f×", k, onOff(res), how, h.Rate, ref.Rate, h.Rate/ref.Rate)))
			}
			if ok && ok2 && ref.CPUPer > 0 {
				out = append(out, "(supplementary) "+verdict(h.CPUPer <= 1.1*ref.CPUPer, fmt.Sprintf("server CPU per new connection within 1.1× of net/http + crypto/tls, %s certificate, resumption %s: %.0f vs %.0f µs = %.2f×", k, onOff(res), h.CPUPer/1e3, ref.CPUPer/1e3, h.CPUPer/ref.CPUPer)))
			}
		}
	}
	return out
}
