package timerwheel

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

const benchTick = 100 * time.Millisecond

// benchConn stands for a connection with an embedded timer.
type benchConn struct {
	id int
	tm Timer[*benchConn]
}

func newBenchConns(n int) []benchConn {
	cs := make([]benchConn, n)
	for i := range cs {
		cs[i].id = i
		cs[i].tm.Value = &cs[i]
	}
	return cs
}

// benchDurations returns n random delays up to max.
func benchDurations(n int, max time.Duration, seed uint64) []time.Duration {
	r := rand.New(rand.NewPCG(seed, 0))
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = time.Duration(r.Int64N(int64(max)))
	}
	return ds
}

const benchPool = 1 << 16

// BenchmarkSchedule arms unarmed timers (delays up to 60s: 600 ticks on a
// 512-slot wheel, so some go to later rounds).
func BenchmarkSchedule(b *testing.B) {
	w := New[*benchConn](benchTick, 512, t0)
	cs := newBenchConns(benchPool)
	ds := benchDurations(benchPool, 60*time.Second, 1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i & (benchPool - 1)
		if j == 0 && i > 0 {
			b.StopTimer()
			for k := range cs {
				w.Cancel(&cs[k].tm)
			}
			b.StartTimer()
		}
		w.Schedule(&cs[j].tm, ds[j])
		i++
	}
}

// BenchmarkReschedule re-arms armed timers (19k armed).
func BenchmarkReschedule(b *testing.B) {
	const n = 19000
	w := New[*benchConn](benchTick, 512, t0)
	cs := newBenchConns(n)
	ds := benchDurations(benchPool, 60*time.Second, 2)
	for k := range cs {
		w.Schedule(&cs[k].tm, ds[k])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		w.Schedule(&cs[i%n].tm, ds[i&(benchPool-1)])
		i++
	}
}

// BenchmarkCancel cancels armed timers.
func BenchmarkCancel(b *testing.B) {
	w := New[*benchConn](benchTick, 512, t0)
	cs := newBenchConns(benchPool)
	ds := benchDurations(benchPool, 60*time.Second, 3)
	arm := func() {
		for k := range cs {
			w.Schedule(&cs[k].tm, ds[k])
		}
	}
	arm()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i & (benchPool - 1)
		if j == 0 && i > 0 {
			b.StopTimer()
			arm()
			b.StartTimer()
		}
		w.Cancel(&cs[j].tm)
		i++
	}
}

// BenchmarkAdvanceIdle advances one tick per op with armed timers spread
// over 64 rotations of a 512-slot wheel, so nearly all of those visited are
// skipped (not yet their round); the few that fire are re-armed alike.
func BenchmarkAdvanceIdle(b *testing.B) {
	for _, n := range []int{10000, 19000} {
		b.Run(fmt.Sprintf("armed=%d", n), func(b *testing.B) {
			w := New[*benchConn](benchTick, 512, t0)
			cs := newBenchConns(n)
			spread := 64 * 512 * benchTick
			ds := benchDurations(benchPool, spread, 4)
			for k := range cs {
				w.Schedule(&cs[k].tm, ds[k])
			}
			i := 0
			fire := func(t *Timer[*benchConn]) {
				w.Schedule(t, ds[i&(benchPool-1)])
				i++
			}
			now := t0
			fired := 0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(benchTick)
				fired += w.Advance(now, fire)
			}
			b.ReportMetric(float64(fired)/float64(b.N), "fired/op")
		})
	}
}

// BenchmarkAdvanceFire advances one tick per op on a 512-slot wheel where
// every timer has a period of exactly one rotation (a heartbeat), so each
// op fires and re-arms exactly perTick timers.
func BenchmarkAdvanceFire(b *testing.B) {
	const slots = 512
	for _, perTick := range []int{1, 20, 37, 200} { // 37*512 ~ 19k armed
		b.Run(fmt.Sprintf("perTick=%d/armed=%d", perTick, perTick*slots), func(b *testing.B) {
			w := New[*benchConn](benchTick, slots, t0)
			cs := newBenchConns(perTick * slots)
			period := slots * benchTick
			for k := range cs {
				w.Schedule(&cs[k].tm, time.Duration(1+k%slots)*benchTick)
			}
			fire := func(t *Timer[*benchConn]) { w.Schedule(t, period) }
			now := t0
			fired := 0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(benchTick)
				fired += w.Advance(now, fire)
			}
			if fired != b.N*perTick {
				b.Fatalf("fired %d, want %d", fired, b.N*perTick)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(fired), "ns/fired")
		})
	}
}

// BenchmarkAdvanceJump jumps two rotations per op with 19k timers spread
// over 8 rotations: every slot and timer is visited and the due ones from
// the later round are sorted.
func BenchmarkAdvanceJump(b *testing.B) {
	const n = 19000
	w := New[*benchConn](benchTick, 512, t0)
	cs := newBenchConns(n)
	ds := benchDurations(benchPool, 8*512*benchTick, 5)
	for k := range cs {
		w.Schedule(&cs[k].tm, ds[k])
	}
	i := 0
	fire := func(t *Timer[*benchConn]) {
		w.Schedule(t, ds[i&(benchPool-1)])
		i++
	}
	now := t0
	fired := 0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(2 * 512 * benchTick)
		fired += w.Advance(now, fire)
	}
	b.ReportMetric(float64(fired)/float64(b.N), "fired/op")
}
