// Package ctl is the control channel every benchmark server program shares:
// the runner writes commands on the server's stdin and reads one "@ctl "
// line back on stdout for each. It adds one goroutine to each server, the
// same in all of them.
//
//	mem      run the GC, return freed memory to the OS, then report
//	stats    report without collecting
//	heap P   write a heap profile to file P (after a GC)
//	cpu P S  write a CPU profile of the next S seconds to file P
//	quit     exit
//
// The process exits when stdin closes, so a dying runner leaves no server.
package ctl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ProfileRateEnv names the environment variable that, when set, becomes
// runtime.MemProfileRate (1: record every allocation, for a heap profile
// that accounts for each byte of a connection; it costs memory itself, so
// runs that measure memory leave it unset).
const ProfileRateEnv = "BENCH_MEMPROFILERATE"

func init() {
	if v := os.Getenv(ProfileRateEnv); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			runtime.MemProfileRate = n
		}
	}
}

// Prefix starts every control line a server prints.
const Prefix = "@ctl "

// Conns counts the server's open (upgraded) connections; server programs
// add 1 when one opens and -1 when it closes.
var Conns atomic.Int64

// Mem is a server's reply.
type Mem struct {
	Conns      int64  `json:"conns"`
	RSS        uint64 `json:"rss"` // VmRSS, bytes
	HeapInuse  uint64 `json:"heap_inuse"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	StackInuse uint64 `json:"stack_inuse"`
	Sys        uint64 `json:"sys"`
	Goroutines int    `json:"goroutines"`
	NumGC      uint32 `json:"num_gc"`
	CPUNS      int64  `json:"cpu_ns"` // user + system CPU time of the process
	Err        string `json:"err,omitempty"`
}

var outMu sync.Mutex

func reply(v any) {
	b, _ := json.Marshal(v)
	outMu.Lock()
	os.Stdout.Write(append(append([]byte(Prefix), b...), '\n'))
	outMu.Unlock()
}

// Ready announces that the server listens on addr and starts serving
// commands. Call it once, after the listener is up.
func Ready(addr string) {
	outMu.Lock()
	fmt.Fprintf(os.Stdout, "%sready %s\n", Prefix, addr)
	outMu.Unlock()
	go serve()
}

func serve() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch cmd {
		case "mem":
			runtime.GC()
			debug.FreeOSMemory()
			reply(Snapshot())
		case "stats":
			reply(Snapshot())
		case "heap":
			m := Snapshot()
			if f, err := os.Create(arg); err != nil {
				m.Err = err.Error()
			} else {
				runtime.GC()
				if err := pprof.WriteHeapProfile(f); err != nil {
					m.Err = err.Error()
				}
				f.Close()
			}
			reply(m)
		case "cpu": // cpu PATH SECONDS: a CPU profile of the next SECONDS
			m := Mem{}
			path, secs, _ := strings.Cut(arg, " ")
			d, err := strconv.ParseFloat(secs, 64)
			if err != nil {
				d = 5
			}
			if f, err := os.Create(path); err != nil {
				m.Err = err.Error()
			} else {
				if err := pprof.StartCPUProfile(f); err != nil {
					m.Err = err.Error()
				} else {
					time.Sleep(time.Duration(d * float64(time.Second)))
					pprof.StopCPUProfile()
				}
				f.Close()
			}
			reply(m)
		case "quit":
			os.Exit(0)
		default:
			reply(Mem{Err: "unknown command " + strconv.Quote(cmd)})
		}
	}
	os.Exit(0)
}

// Snapshot reads the counters without collecting garbage.
func Snapshot() Mem {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Mem{
		Conns: Conns.Load(), RSS: RSS(), HeapInuse: ms.HeapInuse, HeapAlloc: ms.HeapAlloc,
		StackInuse: ms.StackInuse, Sys: ms.Sys, Goroutines: runtime.NumGoroutine(), NumGC: ms.NumGC,
		CPUNS: CPUTime(),
	}
}

// CPUTime returns the user plus system CPU time this process has used.
func CPUTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// RSS returns this process's resident set size (VmRSS) in bytes.
func RSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseUint(string(f[0]), 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// Broadcast reports whether a message asks to be relayed to every
// connection (its first byte is 'B'); otherwise it is echoed.
func Broadcast(p []byte) bool { return len(p) > 0 && p[0] == 'B' }
