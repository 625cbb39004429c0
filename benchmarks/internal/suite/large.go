package suite

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
)

// largeMax is the largest message every server admits in the large-message
// and stall jobs (its -max-message flag): twice the largest size sent, so
// no limit sits right at a size measured.
const largeMax = 32 << 20

// largeArgs are the server flags of those jobs: each server admits
// messages up to largeMax and, where it has them, lifts rate limits and
// raises its outbound limit to match (see servers/*/main.go).
var largeArgs = []string{"-max-message", strconv.Itoa(largeMax)}

// mib is the unit of the per-byte figures.
const mib = 1 << 20

// LargeEcho is one size of the large-message echo job: Conns connections
// each send Msgs messages of Size bytes, one at a time.
type LargeEcho struct {
	Size  int `json:"size"`
	Conns int `json:"conns"`
	Msgs  int `json:"msgs"`
}

// LargePoint is one size measured.
type LargePoint struct {
	Size   int     `json:"size"`
	Conns  int     `json:"conns"`
	Msgs   int64   `json:"msgs"` // round trips completed
	Rate   float64 `json:"rate"` // round trips per second
	P50    int64   `json:"p50_ns"`
	P99    int64   `json:"p99_ns"`
	Max    int64   `json:"max_ns"`
	Errors int64   `json:"errors"`
	// CPUPerMsg is the server's CPU time (user + system) per round trip and
	// CPUPerMiB the same per MiB of payload echoed (received once and sent
	// back once), ns.
	CPUPerMsg float64 `json:"cpu_per_msg_ns"`
	CPUPerMiB float64 `json:"cpu_per_mib_ns"`
}

// LargeRun is one large-message echo job.
type LargeRun struct {
	Server string       `json:"server"`
	Round  int          `json:"round"`
	Points []LargePoint `json:"points"`
	Err    string       `json:"err,omitempty"`
}

// closedSettle is how long the stall job waits after the last connection
// closed before it reads the server's memory again.
const closedSettle = 3 * time.Second

// StallRun is one stalled-partial-message job.
type StallRun struct {
	Server string `json:"server"`
	Round  int    `json:"round"`
	Size   int    `json:"size"`  // the message each connection declared
	Conns  int    `json:"conns"` // connections asked to stall
	Sent   int    `json:"sent"`  // that wrote all of it but the last byte
	// Held is the connections the server held when memory was read (fewer
	// than Conns if it closed some), Unread the bytes still in kernel
	// socket queues then (sent, not read by the server: not in its RSS).
	Held   int    `json:"held"`
	Unread uint64 `json:"unread"`
	// BaseRSS and BaseHeap are the server's, after a GC, with the Conns
	// connections open and idle; RSS and HeapInuse the same with the
	// partial messages held.
	BaseRSS   uint64 `json:"base_rss"`
	BaseHeap  uint64 `json:"base_heap"`
	RSS       uint64 `json:"rss"`
	HeapInuse uint64 `json:"heap_inuse"`
	// RSSPer and HeapPer are the growth per partial message sent; Ratio is
	// RSSPer over the bytes of the message the server received (Size-1).
	RSSPer  float64 `json:"rss_per"`
	HeapPer float64 `json:"heap_per"`
	Ratio   float64 `json:"ratio"`
	// ClosedRSS is the RSS (after a GC) closedSettle after every connection
	// is closed
	// again; compare with BaseRSS.
	ClosedRSS uint64 `json:"closed_rss"`
	Err       string `json:"err,omitempty"`
}

// largeJob echoes each size of cfg.Large in turn on connections that stay
// open across sizes, and reads the server's CPU time around each.
func largeJob(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, j job) (run LargeRun) {
	run = LargeRun{Server: j.server.Name, Round: j.round}
	fail := func(err error) LargeRun {
		run.Err = err.Error()
		cfg.note("%s: %v", j.server.Name, err)
		return run
	}
	conns := 0
	for _, l := range cfg.Large {
		conns = max(conns, l.Conns)
	}
	pool := load.NewPool(opts)
	defer pool.Close()
	if _, err := pool.Grow(ctx, conns); err != nil {
		return fail(err)
	}
	if _, err := srv.waitConns(pool.Live(), 30*time.Second); err != nil {
		return fail(err)
	}
	for _, l := range cfg.Large {
		// one message per connection first, not measured: buffers the
		// server grows for the size exist before the measured ones
		if _, err := pool.Echo(ctx, l.Conns, 1, l.Size, cfg.LargeTimeout, false); err != nil {
			return fail(fmt.Errorf("warm-up %s: %w", sizeStr(l.Size), err))
		}
		m0, err := srv.ask("stats")
		if err != nil {
			return fail(err)
		}
		r, err := pool.Echo(ctx, l.Conns, l.Msgs, l.Size, cfg.LargeTimeout, true)
		m1, _ := srv.ask("stats")
		p := LargePoint{
			Size: l.Size, Conns: r.Conns, Msgs: r.Msgs, Rate: r.Rate(), Errors: r.Errors,
			P50: int64(r.Hist.Quantile(0.5)), P99: int64(r.Hist.Quantile(0.99)), Max: int64(r.Hist.Quantile(1)),
		}
		if r.Msgs > 0 && m1.CPUNS > m0.CPUNS {
			p.CPUPerMsg = float64(m1.CPUNS-m0.CPUNS) / float64(r.Msgs)
			p.CPUPerMiB = p.CPUPerMsg * mib / float64(l.Size)
		}
		run.Points = append(run.Points, p)
		cfg.note("%s echo %s: %d msgs, %.1f msg/s, p50 %v, server CPU %v/msg, %v/MiB", j.server.Name, sizeStr(l.Size), p.Msgs, p.Rate,
			time.Duration(p.P50), time.Duration(p.CPUPerMsg).Round(time.Microsecond), time.Duration(p.CPUPerMiB).Round(time.Microsecond))
		if err != nil {
			return fail(err)
		}
	}
	return run
}

// stallJob opens cfg.StallConns idle connections, reads the server's
// memory, has each connection send all of a cfg.StallSize message but its
// last byte, waits until the server has read every byte sent, and reads
// its memory again; then it closes them all and reads it once more.
func stallJob(ctx context.Context, cfg Config, srv *serverProc, opts load.Options, j job) (run StallRun) {
	run = StallRun{Server: j.server.Name, Round: j.round, Size: cfg.StallSize}
	fail := func(err error) StallRun {
		run.Err = err.Error()
		cfg.note("%s: %v", j.server.Name, err)
		return run
	}
	if _, err := warmBase(ctx, cfg, srv, opts, min(100, cfg.StallConns)); err != nil {
		return fail(err)
	}
	pool := load.NewPool(opts)
	defer pool.Close()
	if _, err := pool.Grow(ctx, cfg.StallConns); err != nil {
		return fail(err)
	}
	if _, err := srv.waitConns(pool.Live(), 30*time.Second); err != nil {
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

	r, stallErr := pool.Stall(ctx, cfg.StallConns, cfg.StallSize, cfg.Timeout)
	run.Conns, run.Sent = r.Conns, r.Sent
	// The writes are done once the kernel has the bytes; the server may not
	// have read them all yet. Wait until it has, or until what is left stops
	// shrinking for two seconds (a server may leave a stalled connection's
	// bytes in the kernel: they are not in its RSS, the table says how many).
	deadline := time.Now().Add(cfg.Timeout)
	run.Unread = unread(srv.addr)
	for still := time.Now(); run.Unread > 0 && time.Now().Before(deadline) && time.Since(still) < 2*time.Second; {
		time.Sleep(50 * time.Millisecond)
		if u := unread(srv.addr); u != run.Unread {
			run.Unread, still = u, time.Now()
		}
	}
	time.Sleep(cfg.Settle)
	m, err := srv.mem()
	if err != nil {
		return fail(err)
	}
	run.Held, run.RSS, run.HeapInuse = int(m.Conns), m.RSS, m.HeapInuse
	if run.Sent > 0 {
		n := float64(run.Sent)
		run.RSSPer = (float64(m.RSS) - float64(base.RSS)) / n
		run.HeapPer = (float64(m.HeapInuse) - float64(base.HeapInuse)) / n
		run.Ratio = run.RSSPer / float64(cfg.StallSize-1)
	}
	cfg.note("%s: %d partial %s messages held by %d connections: %s RSS, %s heap per message (%.2f× its bytes); %s unread in the kernel",
		j.server.Name, run.Sent, sizeStr(cfg.StallSize), run.Held, bytesStr(run.RSSPer), bytesStr(run.HeapPer), run.Ratio, bytesStr(float64(run.Unread)))
	pool.Close()
	if _, err := srv.waitConns(0, 30*time.Second); err != nil {
		return fail(err)
	}
	// Servers give memory back on their own schedule (a GC, switchboard's
	// release of idle large-message pages after 2 s): read it once they
	// have had the time.
	time.Sleep(closedSettle)
	if m, err = srv.mem(); err != nil {
		return fail(err)
	}
	run.ClosedRSS = m.RSS
	if stallErr != nil {
		return fail(stallErr)
	}
	return run
}

// unread returns the bytes in flight to the server at addr (an IPv4
// host:port) that it has not read yet: the receive queues of its sockets
// and the send queues of the sockets connected to it, from /proc/net/tcp.
func unread(addr string) uint64 {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	ip := net.ParseIP(host).To4()
	p, err := strconv.ParseUint(port, 10, 16)
	if ip == nil || err != nil {
		return 0
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0
	}
	return tcpUnread(string(b), ip, uint16(p))
}

// tcpUnread sums, over the lines of /proc/net/tcp in text, the receive
// queue of sockets bound to ip:port and the send queue of sockets
// connected to it.
func tcpUnread(text string, ip net.IP, port uint16) uint64 {
	// /proc/net/tcp writes an IPv4 address as the hex of its 32-bit value in
	// host order (little-endian here), the port in plain hex.
	want := fmt.Sprintf("%08X:%04X", binary.LittleEndian.Uint32(ip), port)
	var sum uint64
	for _, line := range strings.Split(text, "\n") {
		// sl local_address rem_address st tx_queue:rx_queue ...
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		tx, rx, ok := strings.Cut(f[4], ":")
		if !ok {
			continue
		}
		switch want {
		case f[1]:
			v, _ := strconv.ParseUint(rx, 16, 64)
			sum += v
		case f[2]:
			v, _ := strconv.ParseUint(tx, 16, 64)
			sum += v
		}
	}
	return sum
}

// writeLarge writes the report's sections on the large-message echo and
// the stalled partial messages (each only if it ran).
func writeLarge(w func(string, ...any), r *Results, s Summary, rel string, imgs plotFiles) {
	if len(r.Large) > 0 {
		w("## Large messages: echo\n\n")
		var parts []string
		for _, l := range r.Config.Large {
			parts = append(parts, fmt.Sprintf("%s: %d connection(s) × %d messages", sizeStr(l.Size), l.Conns, l.Msgs))
		}
		w("%s; one message in flight per connection. Messages/s (higher is better), round-trip p50, and the server's CPU time per MiB echoed (lower is better), with in parentheses its ratio to the bare gnet TCP floor, which only copies the bytes back.\n\n", strings.Join(parts, "; "))
		w("| server |")
		for _, l := range r.Config.Large {
			w(" %s msg/s | p50 | CPU/MiB |", sizeStr(l.Size))
		}
		w("\n|---|")
		for range r.Config.Large {
			w("---:|---:|---:|")
		}
		w("\n")
		floor := s.Large["gnet"]
		for _, srv := range r.Config.Servers {
			pts := s.Large[srv.Name]
			w("| %s |", srv.Title)
			for si := range r.Config.Large {
				if si >= len(pts) || pts[si].Msgs == 0 {
					w(" — | — | — |")
					continue
				}
				p := pts[si]
				cpu := durStr(int64(p.CPUPerMiB))
				if si < len(floor) && srv.Name != "gnet" {
					cpu += " (" + ratio(p.CPUPerMiB, floor[si].CPUPerMiB) + ")"
				}
				w(" %s | %s | %s |", rateStr(p.Rate), durStr(p.P50), cpu)
			}
			w("\n")
		}
		w("\n![large-message echo: server CPU per MiB](%s/%s)\n\n", rel, imgs.large)
	}
	if len(r.Stall) > 0 {
		w("## Stalled partial messages\n\n")
		w("%d connections each hold an incomplete %s message (all of it sent but the last byte). Per partial message: the server's RSS and Go heap growth over the same connections idle (lower is better; bytes held outside the Go heap, in memory a server maps itself, show in RSS only); × message = RSS per message over the %d bytes received, so 1.00× is each byte held once; held = connections the server still held then (it may close stalled ones); left unread = bytes sent that the server had not read then (in kernel socket queues, not in its RSS; the figure is per job, not per message); after closing = RSS 3 s after every connection is closed, against the baseline with them idle.\n\n", r.Config.StallConns, sizeStr(r.Config.StallSize), r.Config.StallSize-1)
		w("| server | RSS per message | × message | heap per message | held / sent | left unread | RSS after closing |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, srv := range r.Config.Servers {
			if srv.Raw {
				continue
			}
			x, ok := s.Stall[srv.Name]
			if !ok {
				w("| %s | — | — | — | — | — | — |\n", srv.Title)
				continue
			}
			sign := ""
			if x.Closed > 0 {
				sign = "+"
			}
			w("| %s | %s | %.2f× | %s | %d / %d | %s | %s%s |\n", srv.Title, bytesStr(x.RSSPer), x.Ratio, bytesStr(x.HeapPer), x.Held, x.Sent, bytesStr(x.Unread), sign, bytesStr(x.Closed))
		}
		w("\n![RSS per stalled partial message](%s/%s)\n\n", rel, imgs.stall)
	}
}

func rateStr(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// largeTargets states the supplementary checks of the large-message jobs:
// least server CPU per MiB among the WebSocket servers at each size, and a
// stalled message held once (principle 3 of DESIGN.md) and in the least
// memory.
func largeTargets(r *Results, s Summary) []string {
	var out []string
	sb := "switchboard"
	for si, l := range r.Config.Large {
		pts := s.Large[sb]
		if si >= len(pts) || pts[si].CPUPerMiB == 0 {
			continue
		}
		best, who := 0.0, ""
		for _, srv := range r.Config.Servers {
			if p := s.Large[srv.Name]; srv.Name != sb && !srv.Raw && si < len(p) && p[si].CPUPerMiB > 0 && (best == 0 || p[si].CPUPerMiB < best) {
				best, who = p[si].CPUPerMiB, srv.Title
			}
		}
		if best > 0 {
			v := pts[si].CPUPerMiB
			out = append(out, "(supplementary) "+verdict(v < best, fmt.Sprintf("least server CPU per MiB echoed, %s messages: %s vs best peer %s %s = %.2f×", sizeStr(l.Size), durStr(int64(v)), who, durStr(int64(best)), v/best)))
		}
	}
	if x, ok := s.Stall[sb]; ok {
		out = append(out, "(supplementary) "+verdict(x.Ratio <= 1.1, fmt.Sprintf("a stalled partial message held once (RSS at most 1.1× its bytes): %s per %s message = %.2f×", bytesStr(x.RSSPer), sizeStr(r.Config.StallSize), x.Ratio)))
		best, who := 0.0, ""
		for _, srv := range r.Config.Servers {
			if y, ok := s.Stall[srv.Name]; ok && srv.Name != sb && (who == "" || y.RSSPer < best) {
				best, who = y.RSSPer, srv.Title
			}
		}
		if who != "" {
			out = append(out, "(supplementary) "+verdict(x.RSSPer < best, fmt.Sprintf("least RSS per stalled partial message: %s vs best peer %s %s", bytesStr(x.RSSPer), who, bytesStr(best))))
		}
	}
	return out
}
