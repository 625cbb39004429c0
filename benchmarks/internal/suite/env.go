package suite

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Env describes the machine and the code measured.
type Env struct {
	CPU       string            `json:"cpu"`
	Cores     int               `json:"cores"`
	MemTotal  string            `json:"mem_total"`
	Kernel    string            `json:"kernel"`
	Go        string            `json:"go"`
	NoFile    uint64            `json:"nofile"`
	PortRange string            `json:"port_range"`
	LoadStart string            `json:"load_start"`
	LoadEnd   string            `json:"load_end,omitempty"`
	Backlog   int               `json:"netdev_max_backlog"`
	Modules   map[string]string `json:"modules"` // module path -> version, from the server binaries
	Commit    string            `json:"commit,omitempty"`
}

// ReadEnv reads the machine's facts and the versions built into the server
// binaries.
func ReadEnv(binDir string, servers []Server) Env {
	e := Env{Cores: runtime.NumCPU(), Go: runtime.Version(), Modules: map[string]string{}}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if f := strings.Fields(strings.TrimPrefix(line, "MemTotal:")); len(f) > 0 {
			if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
				e.MemTotal = strconv.FormatFloat(kb/(1<<20), 'f', 1, 64) + " GiB"
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		e.PortRange = strings.Join(strings.Fields(string(b)), "-")
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		e.NoFile = rl.Max
	}
	e.LoadStart = loadAvg()
	e.Backlog = backlogLimit()
	for _, s := range servers {
		bi, err := buildinfo.ReadFile(filepath.Join(binDir, s.Name))
		if err != nil {
			continue
		}
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/panjf2000/gnet/v2", "github.com/gobwas/ws", "github.com/gorilla/websocket",
				"github.com/lxzan/gws", "github.com/lesismal/nbio", "github.com/coder/websocket":
				e.Modules[d.Path] = d.Version
			}
		}
	}
	if out, err := exec.Command("git", "-C", binDir, "rev-parse", "--short", "HEAD").Output(); err == nil {
		e.Commit = strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "-C", binDir, "status", "--porcelain", "--", "..", "../..").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			e.Commit += " (with uncommitted changes)"
		}
	}
	return e
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func (e Env) moduleList() []string {
	var out []string
	for p, v := range e.Modules {
		out = append(out, p+" "+v)
	}
	sort.Strings(out)
	return out
}

func jsonMarshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
