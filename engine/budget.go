package engine

import (
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Bytes held in messages in progress are bounded server-wide by
// Config.InboundBudget. Its default is a fraction of the memory the process
// may use, because the danger it guards against (many peers that each
// start a large message and stall) is measured against that memory, and a
// fixed figure would be far too small for a large server or too large for a
// small container.
const (
	// budgetShare: the default budget is 1/budgetShare of the memory
	// available to the process.
	budgetShare = 8
	// minDefaultBudget is the floor of the default budget.
	minDefaultBudget = 64 << 20
	// fallbackMemory stands for the memory available when nothing tells it.
	fallbackMemory = 8 << 30
)

// DefaultInboundBudget is the budget a zero Config.InboundBudget gets: one
// eighth of the memory the process may use, which is the least of the
// machine's physical memory, the cgroup memory limit (containers) and
// GOMEMLIMIT, and at least 64 MiB. On a 24 GiB machine it is 3 GiB; in a
// 512 MiB container, 64 MiB.
func DefaultInboundBudget() int64 {
	return max(availableMemory()/budgetShare, minDefaultBudget)
}

// availableMemory is the least of physical memory, the cgroup limit and
// GOMEMLIMIT.
func availableMemory() int64 {
	mem := physicalMemory()
	if lim := cgroupLimit(); lim > 0 && lim < mem {
		mem = lim
	}
	if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < math.MaxInt64 && lim < mem {
		mem = lim
	}
	return mem
}

// cgroupLimit reads the memory limit of the process's cgroup (v2, then
// v1); 0 when there is none.
func cgroupLimit() int64 {
	for _, path := range []string{
		"/sys/fs/cgroup/memory.max",
		"/sys/fs/cgroup/memory/memory.limit_in_bytes",
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n < 1<<60 {
			return n
		}
	}
	return 0
}
