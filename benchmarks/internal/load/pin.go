package load

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// PinnedCommand is exec.Command(bin, args...) confined to the CPUs in cpus
// (taskset's list syntax, e.g. "0" or "1-3") when cpus is set. A Go
// program started this way sizes GOMAXPROCS to those CPUs.
func PinnedCommand(cpus, bin string, args ...string) *exec.Cmd {
	if cpus == "" {
		return exec.Command(bin, args...)
	}
	return exec.Command("taskset", append([]string{"-c", cpus, bin}, args...)...)
}

// CanPin reports whether processes can be confined to CPUs apart: taskset
// is there and the machine has at least two CPUs.
func CanPin() bool {
	if runtime.NumCPU() < 2 {
		return false
	}
	_, err := exec.LookPath("taskset")
	return err == nil
}

// cgroupCPU is where the cgroup v1 cpu controller is mounted.
const cgroupCPU = "/sys/fs/cgroup/cpu"

// Quota is a cgroup (v1 cpu controller) whose processes together get at
// most a share of one CPU (a CFS quota): a server capped below the load
// generator's CPU cannot be outpaced by it, so the rate measured is the
// server's.
type Quota struct{ dir string }

// NewQuota makes the cgroup name capped at share of a CPU (0 < share).
// It needs root and the cgroup v1 cpu controller (CanQuota).
func NewQuota(name string, share float64) (*Quota, error) {
	if share <= 0 {
		return nil, fmt.Errorf("quota: share %v", share)
	}
	dir := filepath.Join(cgroupCPU, fmt.Sprintf("%s-%d", name, os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return nil, err
	}
	const period = 100_000 // µs
	if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0o644); err != nil {
		_ = os.Remove(dir)
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(int(share*period))), 0o644); err != nil {
		_ = os.Remove(dir)
		return nil, err
	}
	return &Quota{dir: dir}, nil
}

// Add moves process pid (all its threads) into q; its children start in q.
func (q *Quota) Add(pid int) error {
	return os.WriteFile(filepath.Join(q.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
}

// Remove deletes q once its processes are gone (they go back to the root
// cgroup first when still there).
func (q *Quota) Remove() {
	if b, err := os.ReadFile(filepath.Join(q.dir, "cgroup.procs")); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = Unquota(pid)
			}
		}
	}
	_ = os.Remove(q.dir)
}

// Unquota moves process pid back to the root cpu cgroup.
func Unquota(pid int) error {
	return os.WriteFile(filepath.Join(cgroupCPU, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
}

// CanQuota reports whether NewQuota can work here: the cgroup v1 cpu
// controller is mounted and writable.
func CanQuota() bool {
	q, err := NewQuota("probe", 1)
	if err != nil {
		return false
	}
	q.Remove()
	return true
}
