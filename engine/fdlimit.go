package engine

import (
	"os"
	"syscall"
)

// fdCeiling raises the soft open-file limit to the hard limit and returns
// how many connections the server may hold: the open-file limit less the
// descriptors already open, less those the loops need, less FDHeadroom,
// and never above MaxConnections when that is set.
//
// gnet stops the whole engine when accept(2) fails with EMFILE, so the
// server must refuse connections before the process runs out of
// descriptors, never at that point.
func fdCeiling(cfg Config) int {
	limit := raiseNoFile()
	used := openFDs()
	ceiling := limit - used - cfg.FDHeadroom - 3*cfg.EventLoops // epoll fd, eventfd, listener per loop
	if ceiling < 1 {
		ceiling = 1
	}
	if cfg.MaxConnections > 0 && cfg.MaxConnections < ceiling {
		ceiling = cfg.MaxConnections
	}
	return ceiling
}

// raiseNoFile sets RLIMIT_NOFILE's soft limit to its hard limit and returns
// the soft limit in force.
func raiseNoFile() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			rl = want
		}
	}
	const maxInt = int(^uint(0) >> 1)
	if uint64(rl.Cur) > uint64(maxInt) { // Cur is uint64 on Linux, int64 on the BSDs
		return maxInt
	}
	return int(rl.Cur)
}

// openFDs counts the process's open descriptors (Linux /proc, else /dev/fd).
func openFDs() int {
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		if entries, err := os.ReadDir(dir); err == nil {
			return len(entries)
		}
	}
	return 16
}
