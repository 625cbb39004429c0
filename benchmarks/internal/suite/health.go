package suite

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// Health is what the machine did during one job that can spoil timings:
// loopback packets dropped because the per-CPU backlog was full (softirq
// starved by other load), TCP retransmission timeouts (each at least the
// 200ms minimum RTO), tail-loss probes (retransmissions after ~2 RTTs
// without an ACK: a sign of a starved receiver, cheap) and the load
// average. The counters are the machine's: other processes' traffic is in
// them too.
type Health struct {
	Job     string `json:"job"`
	Drops   uint64 `json:"drops"`
	Retrans uint64 `json:"retrans"`
	RTOs    uint64 `json:"rtos"`
	Probes  uint64 `json:"loss_probes"`
	Load    string `json:"load"`
	// OthersCPU is the share of the machine's CPU busy just before the job
	// started, when none of the benchmark's processes ran.
	OthersCPU float64 `json:"others_cpu"`
	Waited    float64 `json:"waited_s"` // waiting for OthersCPU to drop
}

type netCounters struct{ drops, retrans, rtos, probes uint64 }

// snmpField reads one counter of a "Prefix:" header/value line pair of
// /proc/net/snmp or /proc/net/netstat.
func snmpField(b []byte, prefix, name string) uint64 {
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, prefix+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == name && i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				return v
			}
		}
		return 0
	}
	return 0
}

func readNet() netCounters {
	var c netCounters
	if b, err := os.ReadFile("/proc/net/softnet_stat"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 {
				v, _ := strconv.ParseUint(f[1], 16, 64)
				c.drops += v
			}
		}
	}
	if b, err := os.ReadFile("/proc/net/snmp"); err == nil {
		c.retrans = snmpField(b, "Tcp", "RetransSegs")
	}
	if b, err := os.ReadFile("/proc/net/netstat"); err == nil {
		c.rtos = snmpField(b, "TcpExt", "TCPTimeouts")
		c.probes = snmpField(b, "TcpExt", "TCPLossProbes")
	}
	return c
}

func sub(a, b uint64) uint64 {
	if a >= b {
		return a - b
	}
	return 0
}

// since fills h with the counters' growth from b to a.
func (a netCounters) since(b netCounters, h *Health) {
	h.Drops, h.Retrans = sub(a.drops, b.drops), sub(a.retrans, b.retrans)
	h.RTOs, h.Probes = sub(a.rtos, b.rtos), sub(a.probes, b.probes)
}

// spoiled says whether a job's timings may carry packet losses.
func (h Health) spoiled() bool { return h.Drops > 0 || h.RTOs > 0 }

func backlogLimit() int {
	b, err := os.ReadFile("/proc/sys/net/core/netdev_max_backlog")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// cpuBusy returns the share of all CPUs busy over d, from /proc/stat.
func cpuBusy(d time.Duration) float64 {
	read := func() (busy, total uint64) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			n, _ := strconv.ParseUint(v, 10, 64)
			total += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		return busy, total
	}
	b0, t0 := read()
	time.Sleep(d)
	b1, t1 := read()
	if t1 <= t0 {
		return 0
	}
	return float64(b1-b0) / float64(t1-t0)
}

// waitCalm waits, at most min(cfg.CalmWait, budget), until other processes
// use less than cfg.CalmCPU of the machine. It returns the last share
// measured and the time waited.
func waitCalm(cfg Config, budget time.Duration) (float64, time.Duration) {
	if cfg.CalmWait <= 0 {
		return 0, 0
	}
	start := time.Now()
	busy := cpuBusy(500 * time.Millisecond)
	limit := min(cfg.CalmWait, budget)
	for busy > cfg.CalmCPU && cfg.CalmCPU > 0 && time.Since(start) < limit {
		cfg.note("machine busy (%.0f%% of CPU used by other processes): waiting", busy*100)
		time.Sleep(2 * time.Second)
		busy = cpuBusy(time.Second)
	}
	return busy, max(0, time.Since(start)-500*time.Millisecond)
}

// jobHealth is the Health record of the job tag that just ended: the
// machine's load now, the others' CPU share and the wait before it
// started, and the network counters since net0.
func jobHealth(tag string, others float64, waited time.Duration, net0 netCounters) Health {
	h := Health{Job: tag, Load: loadAvg(), OthersCPU: others, Waited: waited.Seconds()}
	readNet().since(net0, &h)
	return h
}
