package load

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPinnedCommand(t *testing.T) {
	for _, tc := range []struct {
		cpus string
		want []string
	}{
		{"", []string{"bin", "worker"}},
		{"1", []string{"taskset", "-c", "1", "bin", "worker"}},
		{"0-1", []string{"taskset", "-c", "0-1", "bin", "worker"}},
	} {
		cmd := PinnedCommand(tc.cpus, "bin", "worker")
		got := append([]string{filepath.Base(cmd.Args[0])}, cmd.Args[1:]...)
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("cpus %q: %q, want %q", tc.cpus, got, tc.want)
		}
	}
}

// TestPinnedCommandRuns checks that a pinned child sees one CPU.
func TestPinnedCommandRuns(t *testing.T) {
	if !CanPin() {
		t.Skip("needs taskset and two CPUs")
	}
	out, err := PinnedCommand("1", "nproc").Output()
	if err != nil {
		t.Skip("nproc:", err)
	}
	if strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("nproc under taskset -c 1: %q", out)
	}
}

func TestQuota(t *testing.T) {
	if !CanQuota() {
		t.Skip("needs a writable cgroup v1 cpu controller")
	}
	q, err := NewQuota("loadtest", 0.25)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Remove()
	b, err := os.ReadFile(filepath.Join(q.dir, "cpu.cfs_quota_us"))
	if err != nil || strings.TrimSpace(string(b)) != "25000" {
		t.Fatalf("quota %q, %v", b, err)
	}
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := q.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(q.dir, "cgroup.procs"))
	if !strings.Contains(" "+strings.Join(strings.Fields(string(b)), " ")+" ", " "+strconv.Itoa(cmd.Process.Pid)+" ") {
		t.Fatalf("pid %d not in %q", cmd.Process.Pid, b)
	}
	q.Remove() // moves the process out first
	if _, err := os.Stat(q.dir); !os.IsNotExist(err) {
		t.Fatalf("cgroup left behind: %v", err)
	}
}
