package hub

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFanoutLarge is the fan-out measurement at 10k subscribers, with the
// clients in a child process (10k sockets on each side fit the open-file
// limit of one process each). It runs only when asked:
//
//	SWITCHBOARD_FANOUT=5000,10000 go test -run TestFanoutLarge -v -timeout 20m ./hub
//
// For each size it reports the hub's heap per subscription (first topic of
// a connection, and a second one), the fan-out latency of one 64-byte
// message to every subscriber, measured at the clients (p50/p99 over 200
// publishes, one at a time), and the server process's allocations per
// publish.
func TestFanoutLarge(t *testing.T) {
	spec := os.Getenv("SWITCHBOARD_FANOUT")
	if spec == "" {
		t.Skip("set SWITCHBOARD_FANOUT=10000 (subscriber counts, comma-separated) to run")
	}
	for _, f := range strings.Split(spec, ",") {
		subs, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || subs <= 0 {
			t.Fatalf("bad SWITCHBOARD_FANOUT %q", spec)
		}
		t.Run(strconv.Itoa(subs), func(t *testing.T) { fanoutLarge(t, subs) })
	}
}

func fanoutLarge(t *testing.T, subs int) {
	const publishes, warmup = 200, 10
	loops := runtime.NumCPU()
	n := fanServer(t, loops)

	child := exec.Command(os.Args[0], "-test.run=^TestFanoutClients$")
	child.Env = append(os.Environ(), "FANOUT_CHILD_ADDR="+n.addr, "FANOUT_CHILD_N="+strconv.Itoa(subs))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close() // the child closes its clients and exits
		done := make(chan error, 1)
		go func() { done <- child.Wait() }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = child.Process.Kill()
			t.Error("client process did not exit within 60s")
		}
	}()
	// One goroutine reads the child's lines: "ready", then one time stamp
	// per completed message (parsed by hand: nothing here allocates).
	ready := make(chan struct{})
	stamps := make(chan int64, 16)
	go func() {
		lines := bufio.NewReaderSize(stdout, 4096)
		for {
			line, err := lines.ReadSlice('\n')
			if err != nil {
				close(stamps)
				return
			}
			if bytes.HasPrefix(line, []byte("FANOUT ready")) {
				close(ready)
			} else if rest, ok := bytes.CutPrefix(line, []byte("FANOUT done ")); ok {
				var ns int64
				for _, d := range rest {
					if '0' <= d && d <= '9' {
						ns = ns*10 + int64(d-'0')
					}
				}
				stamps <- ns
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Minute):
		t.Fatal("client process not ready within 5 minutes")
	}
	conns := collectOpens(t, n, subs)

	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	h0 := heap()
	subscribeAll(t, n.hub, conns, "fan")
	h1 := heap()
	subscribeAll(t, n.hub, conns, "second")
	h2 := heap()
	for _, c := range conns {
		n.hub.Unsubscribe(c, "second")
	}
	waitFor(t, "second topic gone", func() bool { return n.hub.Subscribers("second") == 0 })

	payload := make([]byte, fanPayload)
	lat := make([]time.Duration, 0, publishes)
	timer := time.NewTimer(time.Hour)
	var m0, m1 runtime.MemStats
	for i := range warmup + publishes {
		if i == warmup {
			runtime.GC()
			runtime.ReadMemStats(&m0)
		}
		start := time.Now().UnixNano()
		if _, err := n.hub.Publish("fan", 2, payload); err != nil {
			t.Fatal(err)
		}
		timer.Reset(30 * time.Second)
		var end int64
		select {
		case end = <-stamps:
		case <-timer.C:
			t.Fatalf("publish %d: fan-out not complete after 30s; hub %+v", i, n.hub.Stats())
		}
		if end == 0 {
			t.Fatal("client process ended")
		}
		if i >= warmup {
			lat = append(lat, time.Duration(end-start))
		}
	}
	runtime.ReadMemStats(&m1)
	slices.Sort(lat)
	st := n.hub.Stats()
	t.Logf("%d subscribers, %d event loops, %d CPUs (GOMAXPROCS %d)", subs, loops, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	t.Logf("hub heap per subscription: %.0f B (a connection's first topic), %.0f B (its second)",
		float64(h1-h0)/float64(subs), float64(h2-h1)/float64(subs))
	t.Logf("fan-out of one 64-byte message, measured at the clients, over %d publishes: p50 %v, p99 %v, max %v (%.0f ns per subscriber at p50)",
		publishes, percentile(lat, 0.50), percentile(lat, 0.99), lat[len(lat)-1], float64(percentile(lat, 0.50))/float64(subs))
	t.Logf("server process allocations per publish: %.2f (%.0f B)",
		float64(m1.Mallocs-m0.Mallocs)/publishes, float64(m1.TotalAlloc-m0.TotalAlloc)/publishes)
	t.Logf("hub stats: %+v", st)
	if st.Dropped != 0 || st.Overflows != 0 {
		t.Errorf("drops during the measurement: %+v", st)
	}
}

// TestFanoutClients is the client side of TestFanoutLarge, run in a child
// process: it dials FANOUT_CHILD_N clients, says "FANOUT ready", then says
// "FANOUT done <unix ns>" each time the last client has received a message,
// until its stdin closes.
func TestFanoutClients(t *testing.T) {
	addr := os.Getenv("FANOUT_CHILD_ADDR")
	if addr == "" {
		t.Skip("client process of TestFanoutLarge")
	}
	subs, _ := strconv.Atoi(os.Getenv("FANOUT_CHILD_N"))
	conns := fanClients(t, addr, subs)
	fmt.Println("FANOUT ready")
	r := newFanReaders(conns)
	finished := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		r.close(conns)
		close(finished)
	}()
	out := bufio.NewWriter(os.Stdout)
	for {
		select {
		case ts := <-r.done:
			out.WriteString("FANOUT done " + strconv.FormatInt(ts, 10) + "\n")
			out.Flush()
		case <-finished:
			return
		}
	}
}
