package suite

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

type plotFiles struct{ memRSS, memHeap, echo, echoCPU, bcast, large, stall string }

var palette = []color.Color{
	color.RGBA{0xd6, 0x27, 0x28, 0xff}, // switchboard: red
	color.RGBA{0x7f, 0x7f, 0x7f, 0xff}, // gnet floor: grey
	color.RGBA{0x1f, 0x77, 0xb4, 0xff},
	color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
	color.RGBA{0xff, 0x7f, 0x0e, 0xff},
	color.RGBA{0x94, 0x67, 0xbd, 0xff},
	color.RGBA{0x8c, 0x56, 0x4b, 0xff},
}

func colorOf(i int) color.Color { return palette[i%len(palette)] }

// writePlots draws the plots of the kinds of job that ran.
func writePlots(r *Results, s Summary, dir string) (plotFiles, error) {
	f := plotFiles{memRSS: "bench-mem-rss.png", memHeap: "bench-mem-heap.png", echo: "bench-echo.png", echoCPU: "bench-echo-cpu.png", bcast: "bench-broadcast.png",
		large: "bench-large-echo.png", stall: "bench-stalled-rss.png"}
	if len(r.Mem) > 0 {
		if err := memPlot(r, s, filepath.Join(dir, f.memRSS), "RSS per idle connection", func(p MemPoint) float64 { return p.RSSPer }); err != nil {
			return f, err
		}
		if err := memPlot(r, s, filepath.Join(dir, f.memHeap), "Go heap in use per idle connection", func(p MemPoint) float64 { return p.HeapPer }); err != nil {
			return f, err
		}
	}
	if len(r.Echo) > 0 {
		if err := echoPlot(r, s, filepath.Join(dir, f.echo), false); err != nil {
			return f, err
		}
		if err := echoPlot(r, s, filepath.Join(dir, f.echoCPU), true); err != nil {
			return f, err
		}
	}
	if len(r.Bcast) > 0 {
		if err := bcastPlot(r, s, filepath.Join(dir, f.bcast)); err != nil {
			return f, err
		}
	}
	if len(r.Large) > 0 {
		if err := largePlot(r, s, filepath.Join(dir, f.large)); err != nil {
			return f, err
		}
	}
	if len(r.Stall) > 0 {
		if err := stallPlot(r, s, filepath.Join(dir, f.stall)); err != nil {
			return f, err
		}
	}
	return f, nil
}

func memPlot(r *Results, s Summary, path, title string, val func(MemPoint) float64) error {
	p := plot.New()
	p.Title.Text = title + " (log scale)"
	p.X.Label.Text = "idle connections"
	p.Y.Label.Text = "bytes per connection"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	var ticks []plot.Tick
	for _, n := range s.Levels {
		ticks = append(ticks, plot.Tick{Value: float64(n), Label: countStr(n)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	top := 0.0
	for i, srv := range r.Config.Servers {
		pts := s.Mem[srv.Name]
		var xys plotter.XYs
		for _, pt := range pts {
			if v := val(pt); v > 1 {
				xys = append(xys, plotter.XY{X: float64(pt.Conns), Y: v})
				top = max(top, v)
			}
		}
		if len(xys) == 0 {
			continue
		}
		if err := addSeries(p, i, srv.Title, xys); err != nil {
			return err
		}
	}
	if top > 0 {
		p.Y.Max = top * 8 // room for the legend above the lines
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

func echoPlot(r *Results, s Summary, path string, cpu bool) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Echo throughput, %d connections (higher is better)", r.Config.EchoConns)
	p.Y.Label.Text = "messages / s"
	if cpu {
		p.Title.Text = fmt.Sprintf("Echo: server CPU time per round trip, %d connections (lower is better)", r.Config.EchoConns)
		p.Y.Label.Text = "µs of server CPU per message"
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	var names []string
	var servers []Server
	for _, srv := range r.Config.Servers {
		if _, ok := s.Echo[srv.Name]; ok {
			names = append(names, srv.Title)
			servers = append(servers, srv)
		}
	}
	w := vg.Points(22)
	n := len(r.Config.EchoSizes)
	top := 0.0
	for si, size := range r.Config.EchoSizes {
		vals := make(plotter.Values, len(servers))
		for i, srv := range servers {
			if cpu {
				if pts := s.Echo[srv.Name]; si < len(pts) {
					vals[i] = pts[si].CPUPerMsg / 1e3
				}
			} else {
				vals[i] = echoAt(s, srv.Name, si)
			}
			top = max(top, vals[i])
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(si + 2)
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(si)-float64(n-1)/2)
		p.Add(bars)
		p.Legend.Add(sizeStr(size)+" messages", bars)
	}
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = 0, top*1.3 // room for the legend
	return p.Save(9*vg.Inch, 4.5*vg.Inch, path)
}

func bcastPlot(r *Results, s Summary, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Broadcast completion to %d subscribers, %d B (lower is better)", r.Config.BcastSubs, r.Config.BcastSize)
	p.Y.Label.Text = "milliseconds until the last subscriber has it"
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	var names []string
	var p50, p99 plotter.Values
	for _, srv := range r.Config.Servers {
		b, ok := s.Bcast[srv.Name]
		if !ok {
			continue
		}
		names = append(names, srv.Title)
		p50 = append(p50, float64(b.P50)/1e6)
		p99 = append(p99, float64(b.P99)/1e6)
	}
	if len(names) == 0 {
		return p.Save(6*vg.Inch, 4*vg.Inch, path)
	}
	w := vg.Points(22)
	for i, vals := range []plotter.Values{p50, p99} {
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(i)-0.5)
		p.Add(bars)
		p.Legend.Add([]string{"p50", "p99"}[i], bars)
	}
	p.NominalX(names...)
	top := 0.0
	for _, v := range p99 {
		top = max(top, v)
	}
	p.Y.Min, p.Y.Max = 0, top*1.25 // room for the legend
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

// largePlot draws the server CPU time per MiB echoed against the message
// size, one line per server (log scale: the servers lie orders of magnitude
// apart).
func largePlot(r *Results, s Summary, path string) error {
	p := plot.New()
	p.Title.Text = "Large-message echo: server CPU time per MiB echoed (log scale, lower is better)"
	p.X.Label.Text = "message size"
	p.Y.Label.Text = "ms of server CPU per MiB"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.YOffs = -vg.Points(6) // clear of the title
	p.Add(plotter.NewGrid())
	var ticks []plot.Tick
	for i, l := range r.Config.Large {
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: sizeStr(l.Size)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = -0.3, float64(len(r.Config.Large))-0.7
	lo, hi := 0.0, 0.0
	for i, srv := range r.Config.Servers {
		var xys plotter.XYs
		for si, pt := range s.Large[srv.Name] {
			if v := pt.CPUPerMiB / 1e6; v > 0 {
				xys = append(xys, plotter.XY{X: float64(si), Y: v})
				if lo == 0 || v < lo {
					lo = v
				}
				hi = max(hi, v)
			}
		}
		if len(xys) == 0 {
			continue
		}
		if err := addSeries(p, i, srv.Title, xys); err != nil {
			return err
		}
	}
	if hi > 0 {
		p.Y.Min, p.Y.Max = lo/2, hi*30 // room for the legend above the lines
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// stallPlot draws the RSS and heap growth per stalled partial message, with
// the bytes of the message received for reference.
func stallPlot(r *Results, s Summary, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Memory per stalled partial %s message, %d connections (lower is better)", sizeStr(r.Config.StallSize), r.Config.StallConns)
	p.Y.Label.Text = "MiB per partial message"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	var names []string
	var rss, heap plotter.Values
	for _, srv := range r.Config.Servers {
		x, ok := s.Stall[srv.Name]
		if !ok {
			continue
		}
		names = append(names, srv.Title)
		rss = append(rss, max(0, x.RSSPer)/(1<<20))
		heap = append(heap, max(0, x.HeapPer)/(1<<20))
	}
	if len(names) == 0 {
		return p.Save(6*vg.Inch, 4*vg.Inch, path)
	}
	w := vg.Points(22)
	top := float64(r.Config.StallSize-1) / (1 << 20)
	for i, vals := range []plotter.Values{rss, heap} {
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(i)-0.5)
		p.Add(bars)
		p.Legend.Add([]string{"RSS", "Go heap in use"}[i], bars)
		for _, v := range vals {
			top = max(top, v)
		}
	}
	held := plotter.NewFunction(func(float64) float64 { return float64(r.Config.StallSize-1) / (1 << 20) })
	held.Color = color.Black
	held.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(held)
	p.Legend.Add("bytes received", held)
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = 0, top*1.3 // room for the legend
	return p.Save(8*vg.Inch, 4.5*vg.Inch, path)
}

// addSeries adds one server's line with points, in its colour, to p.
func addSeries(p *plot.Plot, i int, title string, xys plotter.XYs) error {
	l, sc, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, sc.Color = colorOf(i), colorOf(i)
	l.Width = vg.Points(2)
	sc.Shape = draw.CircleGlyph{}
	p.Add(l, sc)
	p.Legend.Add(title, l, sc)
	return nil
}
