package timerwheel

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"
)

// A fake clock: tests pass explicit times and never sleep.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const tk = 10 * time.Millisecond

// at returns the boundary of tick k of a wheel made at t0 with tick tk.
func at(k int) time.Time { return t0.Add(time.Duration(k) * tk) }

type entry = Timer[int]

func newEntries(n int) []entry {
	es := make([]entry, n)
	for i := range es {
		es[i].Value = i
	}
	return es
}

// checkInvariants walks the whole wheel: every list is well linked, every
// armed timer sits in the slot of its expiry, after the current tick, and
// the count matches.
func checkInvariants[T any](tb testing.TB, w *Wheel[T]) {
	tb.Helper()
	n := 0
	walk := func(head *Timer[T], slot int) {
		prev := head
		for t := head.next; t != head; t = t.next {
			if t.prev != prev {
				tb.Fatalf("broken prev link in slot %d", slot)
			}
			if slot >= 0 {
				if int(t.expiry&w.mask) != slot {
					tb.Fatalf("timer with expiry %d in slot %d", t.expiry, slot)
				}
				if t.expiry <= w.cur {
					tb.Fatalf("timer with expiry %d in a slot at current tick %d", t.expiry, w.cur)
				}
			}
			prev = t
			n++
			if n > w.count+1 {
				tb.Fatalf("more timers in lists than Len %d (cycle?)", w.count)
			}
		}
		if head.prev != prev {
			tb.Fatalf("broken tail link in slot %d", slot)
		}
	}
	for i := range w.slots {
		walk(&w.slots[i], i)
	}
	walk(&w.pending, -1)
	if n != w.count || n != w.Len() {
		tb.Fatalf("lists hold %d timers, count %d", n, w.count)
	}
}

func TestTimerSize(t *testing.T) {
	type conn struct{ id int }
	size := unsafe.Sizeof(Timer[*conn]{})
	t.Logf("unsafe.Sizeof(Timer[*conn]) = %d bytes", size)
	if unsafe.Sizeof(uintptr(0)) == 8 && size != 32 {
		t.Fatalf("Timer[*conn] is %d bytes, want 32", size)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{-1, 512}, {0, 512}, {1, 1}, {2, 2}, {3, 4}, {500, 512}, {512, 512}, {513, 1024},
		{1 << 30, MaxSlots},
	} {
		w := New[int](tk, tc.in, t0)
		if got := w.Slots(); got != tc.want {
			t.Errorf("New(slots=%d).Slots() = %d, want %d", tc.in, got, tc.want)
		}
		if w.Len() != 0 || w.Tick() != tk || !w.Now().Equal(t0) {
			t.Errorf("New: Len %d Tick %v Now %v", w.Len(), w.Tick(), w.Now())
		}
		if w.Slots() <= 1024 {
			checkInvariants(t, w)
		}
	}
	for _, tick := range []time.Duration{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(tick=%v) did not panic", tick)
				}
			}()
			New[int](tick, 8, t0)
		}()
	}
}

// firedAt arms one timer (via arm) and returns the tick in which it fires.
func firedAt(t *testing.T, w *Wheel[int], arm func(*entry), limit int) int {
	t.Helper()
	var e entry
	arm(&e)
	if !e.Active() || w.Len() != 1 {
		t.Fatalf("not armed after scheduling")
	}
	return fireTick(t, w, &e, limit)
}

// fireTick advances w one tick at a time, first to just before each tick
// boundary and then onto it, and returns the tick in which e fired. It
// fails if any other timer fires, or e fires just before a boundary.
func fireTick(t *testing.T, w *Wheel[int], e *entry, limit int) int {
	t.Helper()
	start := int(w.cur)
	fired := false
	fire := func(x *entry) {
		if x != e {
			t.Fatalf("timer %d fired, want only %d", x.Value, e.Value)
		}
		if fired {
			t.Fatalf("fired twice")
		}
		fired = true
	}
	for k := start + 1; k <= start+limit; k++ {
		if w.Advance(at(k).Add(-time.Nanosecond), fire); fired {
			t.Fatalf("fired before the boundary of tick %d", k)
		}
		if w.Advance(at(k), fire); fired {
			if e.Active() {
				t.Fatalf("still armed after firing")
			}
			return k
		}
	}
	t.Fatalf("did not fire within %d ticks", limit)
	return -1
}

func TestScheduleRounding(t *testing.T) {
	for _, tc := range []struct {
		name     string
		start    time.Time // where the wheel is when Schedule is called
		d        time.Duration
		wantTick int
	}{
		{"negative", at(0), -time.Hour, 1},
		{"zero", at(0), 0, 1},
		{"1ns", at(0), 1, 1},
		{"one tick", at(0), tk, 1},
		{"one tick+1ns", at(0), tk + 1, 2},
		{"2.5 ticks", at(0), 5 * tk / 2, 3},
		{"from tick 5", at(5), 3 * tk, 8},
		{"mid-tick start counts from the tick", at(5).Add(tk / 2), 3 * tk, 8},
		{"zero mid-tick", at(5).Add(tk - 1), 0, 6},
		{"a rotation", at(2), 16 * tk, 18},
		{"rotation+1", at(2), 17 * tk, 19},
		{"ten rotations", at(3), 160 * tk, 163},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := New[int](tk, 16, t0)
			w.Advance(tc.start, nil)
			got := firedAt(t, w, func(e *entry) { w.Schedule(e, tc.d) }, 1000)
			if got != tc.wantTick {
				t.Fatalf("Schedule(%v) from %v fired at tick %d, want %d", tc.d, tc.start.Sub(t0), got, tc.wantTick)
			}
		})
	}
}

func TestScheduleAtRounding(t *testing.T) {
	for _, tc := range []struct {
		name     string
		start    time.Time
		at       time.Time
		wantTick int
	}{
		{"before origin", at(0), t0.Add(-time.Hour), 1},
		{"at origin", at(0), t0, 1},
		{"in the past", at(10), at(4), 11},
		{"now", at(10).Add(3), at(10).Add(3), 11},
		{"on a boundary", at(10), at(14), 14},
		{"just after a boundary", at(10), at(14).Add(1), 15},
		{"just before a boundary", at(10), at(14).Add(-1), 14},
		{"ten rotations", at(1), at(1 + 160), 161},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := New[int](tk, 16, t0)
			w.Advance(tc.start, nil)
			got := firedAt(t, w, func(e *entry) { w.ScheduleAt(e, tc.at) }, 1000)
			if got != tc.wantTick {
				t.Fatalf("ScheduleAt(%v) from %v fired at tick %d, want %d", tc.at.Sub(t0), tc.start.Sub(t0), got, tc.wantTick)
			}
		})
	}
}

// TestNowAndBackwards checks Now truncation and that time going backwards
// (or not moving past the tick) is ignored.
func TestNowAndBackwards(t *testing.T) {
	w := New[int](tk, 8, t0)
	es := newEntries(2)
	w.Schedule(&es[0], 3*tk)
	w.Advance(at(2).Add(tk-1), nil)
	if !w.Now().Equal(at(2)) {
		t.Fatalf("Now = %v, want tick 2", w.Now().Sub(t0))
	}
	for _, now := range []time.Time{at(2), at(1), t0, t0.Add(-time.Hour), time.Time{}} {
		if n := w.Advance(now, func(*entry) { t.Fatal("fired") }); n != 0 {
			t.Fatalf("Advance(%v) fired %d", now, n)
		}
		if !w.Now().Equal(at(2)) {
			t.Fatalf("Now moved to %v", w.Now().Sub(t0))
		}
	}
	// Scheduling after a backwards Advance still counts from tick 2.
	w.Schedule(&es[1], 0)
	if n := w.Advance(at(3), nil); n != 2 {
		t.Fatalf("fired %d, want 2", n)
	}
	checkInvariants(t, w)
}

func TestOrderAcrossTicks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		slots  int
		maxTk  int // expiries in 1..maxTk
		advBy  int // ticks per Advance
		jumpTo int // 0: advance step by step to maxTk
	}{
		{"one tick at a time", 64, 60, 1, 0},
		{"3 ticks at a time", 64, 60, 3, 0},
		{"within a rotation at once", 64, 64, 0, 64},
		{"many rotations at once", 8, 200, 0, 200},
		{"many rotations in steps", 8, 200, 13, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			w := New[int](tk, tc.slots, t0)
			es := newEntries(500)
			type want struct{ tick, seq int }
			wants := make([]want, len(es))
			for i := range es {
				k := 1 + r.IntN(tc.maxTk)
				w.Schedule(&es[i], time.Duration(k)*tk-time.Duration(r.IntN(int(tk)))) // rounds up to k
				wants[i] = want{k, i}
			}
			checkInvariants(t, w)
			var got []int
			var firedTick []int
			fire := func(e *entry) {
				got = append(got, e.Value)
				firedTick = append(firedTick, int(w.cur))
			}
			if tc.jumpTo > 0 {
				if n := w.Advance(at(tc.jumpTo), fire); n != len(es) {
					t.Fatalf("fired %d, want %d", n, len(es))
				}
			} else {
				for k := tc.advBy; len(got) < len(es); k += tc.advBy {
					before := len(got)
					w.Advance(at(k).Add(tk/2), fire)
					for j, v := range got[before:] {
						if wants[v].tick > k || wants[v].tick <= k-tc.advBy {
							t.Fatalf("timer due at %d fired in Advance to %d", wants[v].tick, k)
						}
						if firedTick[before+j] != k {
							t.Fatalf("Now inside fire at tick %d, want %d", firedTick[before+j], k)
						}
					}
				}
			}
			order := slices.Clone(got)
			slices.SortStableFunc(order, func(a, b int) int {
				if wants[a].tick != wants[b].tick {
					return wants[a].tick - wants[b].tick
				}
				return wants[a].seq - wants[b].seq
			})
			if !slices.Equal(got, order) {
				t.Fatalf("fired out of (expiry, arm) order")
			}
			if w.Len() != 0 {
				t.Fatalf("Len %d after all fired", w.Len())
			}
			checkInvariants(t, w)
		})
	}
}

func TestSameSlotMany(t *testing.T) {
	const n = 10000
	t.Run("same tick", func(t *testing.T) {
		w := New[int](tk, 512, t0)
		es := newEntries(n)
		for i := range es {
			w.Schedule(&es[i], 7*tk)
		}
		if w.Len() != n {
			t.Fatalf("Len %d", w.Len())
		}
		if got := w.Advance(at(6), nil); got != 0 {
			t.Fatalf("fired %d early", got)
		}
		next := 0
		got := w.Advance(at(7), func(e *entry) {
			if e.Value != next {
				t.Fatalf("fired %d, want %d (arm order)", e.Value, next)
			}
			next++
		})
		if got != n || w.Len() != 0 {
			t.Fatalf("fired %d, Len %d", got, w.Len())
		}
	})
	t.Run("same slot, different rounds", func(t *testing.T) {
		const slots = 16
		w := New[int](tk, slots, t0)
		es := newEntries(n)
		for i := range es {
			// Expiry 5 + slots*(i%100): 100 rounds, all in slot 5.
			w.Schedule(&es[i], time.Duration(5+slots*(i%100))*tk)
		}
		checkInvariants(t, w)
		fired := 0
		for k := 1; k <= 5+slots*100; k++ {
			w.Advance(at(k), func(e *entry) {
				if want := 5 + slots*(e.Value%100); want != k {
					t.Fatalf("timer due at %d fired at %d", want, k)
				}
				fired++
			})
		}
		if fired != n || w.Len() != 0 {
			t.Fatalf("fired %d, Len %d", fired, w.Len())
		}
	})
}

func TestRearm(t *testing.T) {
	for _, tc := range []struct {
		name      string
		first     int // ticks
		advanceTo int // before re-arming
		second    int // ticks, counted from advanceTo
		wantTick  int
	}{
		{"earlier", 50, 0, 5, 5},
		{"later", 5, 0, 50, 50},
		{"same", 5, 0, 5, 5},
		{"later after some ticks", 5, 4, 10, 14},
		{"earlier from far rounds", 300, 10, 1, 11},
		{"later into far rounds", 3, 1, 300, 301},
		{"same slot next round", 3, 0, 3 + 16, 19},
		{"same slot previous round", 3 + 16, 0, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := New[int](tk, 16, t0)
			var e entry
			w.Schedule(&e, time.Duration(tc.first)*tk)
			w.Advance(at(tc.advanceTo), func(*entry) { t.Fatal("fired before re-arm") })
			w.Schedule(&e, time.Duration(tc.second)*tk)
			if w.Len() != 1 || !e.Active() {
				t.Fatalf("Len %d after re-arm, want 1", w.Len())
			}
			checkInvariants(t, w)
			if got := fireTick(t, w, &e, 1000); got != tc.wantTick {
				t.Fatalf("fired at tick %d, want %d", got, tc.wantTick)
			}
			if n := w.Advance(at(2000), nil); n != 0 || w.Len() != 0 {
				t.Fatalf("fired again: %d", n)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	w := New[int](tk, 16, t0)
	es := newEntries(4)
	var idle entry
	w.Cancel(&idle) // unarmed: no-op
	if idle.Active() || w.Len() != 0 {
		t.Fatal("cancel of unarmed timer changed state")
	}
	w.Schedule(&es[0], 3*tk)
	w.Schedule(&es[1], 3*tk)
	w.Schedule(&es[2], 100*tk) // rounds
	w.Schedule(&es[3], 4*tk)
	w.Cancel(&es[1])
	w.Cancel(&es[1]) // twice
	w.Cancel(&es[2])
	if es[1].Active() || es[2].Active() || !es[0].Active() || w.Len() != 2 {
		t.Fatalf("after cancel: Len %d", w.Len())
	}
	checkInvariants(t, w)
	var got []int
	w.Advance(at(200), func(e *entry) { got = append(got, e.Value) })
	if !slices.Equal(got, []int{0, 3}) {
		t.Fatalf("fired %v, want [0 3]", got)
	}
	w.Cancel(&es[0]) // fired: no-op
	if w.Len() != 0 {
		t.Fatalf("Len %d", w.Len())
	}
	// A cancelled timer can be armed again.
	w.Schedule(&es[1], tk)
	if n := w.Advance(at(201), nil); n != 1 {
		t.Fatalf("re-armed cancelled timer: fired %d", n)
	}
	checkInvariants(t, w)
}

func TestCancelInsideFire(t *testing.T) {
	// Timers: 0 and 1 due at tick 2 (same slot, 0 armed first), 2 due at
	// tick 3, 3 due at tick 9 (later, not in this Advance).
	for _, tc := range []struct {
		name       string
		advanceTo  int
		cancel     int // which timer timer 0's fire cancels (0: self)
		wantFired  []int
		wantActive []bool
	}{
		{"self", 3, 0, []int{0, 1, 2}, []bool{false, false, false, true}},
		{"same slot, pending", 3, 1, []int{0, 2}, []bool{false, false, false, true}},
		{"later tick in same Advance", 3, 2, []int{0, 1}, []bool{false, false, false, true}},
		{"due in a later Advance", 3, 3, []int{0, 1, 2}, []bool{false, false, false, false}},
		{"big jump, pending late round", 40, 3, []int{0, 1, 2}, []bool{false, false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := New[int](tk, 4, t0)
			es := newEntries(4)
			w.Schedule(&es[0], 2*tk)
			w.Schedule(&es[1], 2*tk)
			w.Schedule(&es[2], 3*tk)
			w.Schedule(&es[3], 9*tk)
			var got []int
			n := w.Advance(at(tc.advanceTo), func(e *entry) {
				got = append(got, e.Value)
				if e.Active() {
					t.Fatal("fired timer still active in fire")
				}
				if e.Value == 0 {
					w.Cancel(&es[tc.cancel])
				}
				checkInvariants(t, w)
			})
			if !slices.Equal(got, tc.wantFired) || n != len(got) {
				t.Fatalf("fired %v (n=%d), want %v", got, n, tc.wantFired)
			}
			active := 0
			for i := range es {
				if es[i].Active() != tc.wantActive[i] {
					t.Fatalf("timer %d Active %v", i, es[i].Active())
				}
				if es[i].Active() {
					active++
				}
			}
			if w.Len() != active {
				t.Fatalf("Len %d, want %d", w.Len(), active)
			}
			checkInvariants(t, w)
			if n := w.Advance(at(1000), nil); n != active {
				t.Fatalf("later Advance fired %d, want %d", n, active)
			}
		})
	}
	t.Run("later one cancels an earlier-fired one", func(t *testing.T) {
		w := New[int](tk, 4, t0)
		es := newEntries(2)
		w.Schedule(&es[0], tk)
		w.Schedule(&es[1], tk)
		n := w.Advance(at(1), func(e *entry) { w.Cancel(&es[0]) })
		if n != 2 || w.Len() != 0 {
			t.Fatalf("fired %d, Len %d", n, w.Len())
		}
	})
	t.Run("cancel every other pending", func(t *testing.T) {
		w := New[int](tk, 8, t0)
		es := newEntries(1000)
		for i := range es {
			w.Schedule(&es[i], time.Duration(1+i%100)*tk) // spans rotations
		}
		var got []int
		w.Advance(at(100), func(e *entry) {
			got = append(got, e.Value)
			if e.Value+1 < len(es) {
				w.Cancel(&es[e.Value+1])
			}
		})
		for _, v := range got {
			if v%2 == 1 && (v-1)%100 != 99 && slices.Contains(got, v-1) {
				t.Fatalf("timer %d fired after %d cancelled it", v, v-1)
			}
		}
		if w.Len() != 0 {
			t.Fatalf("Len %d", w.Len())
		}
		checkInvariants(t, w)
	})
}

func TestScheduleInsideFire(t *testing.T) {
	t.Run("self with d<=0 fires next tick, once per Advance", func(t *testing.T) {
		for _, adv := range []int{1, 5, 100} { // within and beyond a rotation (8)
			w := New[int](tk, 8, t0)
			var e entry
			w.Schedule(&e, 0)
			calls := 0
			n := w.Advance(at(adv), func(e *entry) {
				calls++
				w.Schedule(e, 0)
			})
			if n != 1 || calls != 1 {
				t.Fatalf("advance %d: fired %d (calls %d), want 1", adv, n, calls)
			}
			if !e.Active() || e.expiry != uint64(adv+1) || w.Len() != 1 {
				t.Fatalf("re-armed at tick %d, want %d", e.expiry, adv+1)
			}
			if n := w.Advance(at(adv+1), nil); n != 1 {
				t.Fatalf("re-armed timer fired %d at next tick", n)
			}
		}
	})
	t.Run("self later", func(t *testing.T) {
		w := New[int](tk, 8, t0)
		var e entry
		w.Schedule(&e, 2*tk)
		var ticks []int
		for k := 1; k <= 100; k++ {
			w.Advance(at(k), func(e *entry) {
				ticks = append(ticks, k)
				w.Schedule(e, 7*tk)
			})
		}
		for i, k := range ticks {
			if k != 2+7*i {
				t.Fatalf("fires at %v", ticks)
			}
		}
	})
	t.Run("re-arm a pending timer of the same tick", func(t *testing.T) {
		w := New[int](tk, 8, t0)
		es := newEntries(3)
		for i := range es {
			w.Schedule(&es[i], 3*tk)
		}
		var got []int
		w.Advance(at(3), func(e *entry) {
			got = append(got, e.Value)
			if e.Value == 0 {
				w.Schedule(&es[1], 0)  // pending, due now: moves to tick 4
				w.Schedule(&es[2], tk) // same
			}
		})
		if !slices.Equal(got, []int{0}) || w.Len() != 2 {
			t.Fatalf("fired %v, Len %d", got, w.Len())
		}
		got = got[:0]
		w.Advance(at(4), func(e *entry) { got = append(got, e.Value) })
		if !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("fired %v at tick 4", got)
		}
	})
	t.Run("ScheduleAt into the past inside a big jump", func(t *testing.T) {
		w := New[int](tk, 8, t0)
		es := newEntries(2)
		w.Schedule(&es[0], tk)
		w.Schedule(&es[1], 50*tk)
		var got []int
		n := w.Advance(at(60), func(e *entry) {
			got = append(got, e.Value)
			w.ScheduleAt(e, at(2)) // in the past: next tick after 60
		})
		if n != 2 || w.Len() != 2 || es[0].expiry != 61 || es[1].expiry != 61 {
			t.Fatalf("fired %d, Len %d, expiries %d %d", n, w.Len(), es[0].expiry, es[1].expiry)
		}
		checkInvariants(t, w)
	})
	t.Run("arm a new timer inside fire", func(t *testing.T) {
		w := New[int](tk, 8, t0)
		es := newEntries(2)
		w.Schedule(&es[0], tk)
		n := w.Advance(at(1), func(e *entry) {
			if e.Value == 0 {
				w.Schedule(&es[1], 0)
			}
		})
		if n != 1 || !es[1].Active() || w.Len() != 1 {
			t.Fatalf("fired %d", n)
		}
	})
}

func TestWrapAround(t *testing.T) {
	// Periodic timers with periods below, at and above the rotation,
	// re-armed on each fire, over many rotations of a small wheel.
	const slots = 8
	periods := []int{1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 64, 100}
	w := New[int](tk, slots, t0)
	es := newEntries(len(periods))
	next := make([]int, len(periods))
	for i, p := range periods {
		w.Schedule(&es[i], time.Duration(p)*tk)
		next[i] = p
	}
	counts := make([]int, len(periods))
	const ticks = 1000 // 125 rotations
	for k := 1; k <= ticks; k++ {
		w.Advance(at(k).Add(tk/3), func(e *entry) {
			i := e.Value
			if next[i] != k {
				t.Fatalf("period %d fired at %d, want %d", periods[i], k, next[i])
			}
			counts[i]++
			next[i] = k + periods[i]
			w.Schedule(e, time.Duration(periods[i])*tk)
		})
	}
	for i, p := range periods {
		if counts[i] != ticks/p {
			t.Fatalf("period %d fired %d times, want %d", p, counts[i], ticks/p)
		}
	}
	if w.Len() != len(periods) {
		t.Fatalf("Len %d", w.Len())
	}
	checkInvariants(t, w)
}

func TestRounds(t *testing.T) {
	for _, step := range []int{1, 3, 16, 17} { // per Advance, wheel of 16 slots
		t.Run(fmt.Sprintf("step %d", step), func(t *testing.T) {
			w := New[int](tk, 16, t0)
			es := newEntries(4)
			due := []int{160, 161, 165, 16*10 + 15} // 10 rotations ahead
			for i, d := range due {
				w.Schedule(&es[i], time.Duration(d)*tk)
			}
			for k := step; k < 200+step; k += step {
				w.Advance(at(k), func(e *entry) {
					d := due[e.Value]
					if d > k || d <= k-step {
						t.Fatalf("due at %d fired in Advance to %d", d, k)
					}
				})
			}
			if w.Len() != 0 {
				t.Fatalf("Len %d", w.Len())
			}
		})
	}
}

func TestLargeJump(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	w := New[int](tk, 64, t0)
	const n = 5000
	es := newEntries(n)
	due := make([]int, n)
	for i := range es {
		due[i] = 1 + r.IntN(64*50) // up to 50 rotations
		w.ScheduleAt(&es[i], at(due[i]))
	}
	fired := make([]int, n)
	last := 0
	fire := func(e *entry) {
		fired[e.Value]++
		if due[e.Value] < last {
			t.Fatalf("fired out of order: %d after %d", due[e.Value], last)
		}
		last = due[e.Value]
	}
	// Jump to the middle: exactly those due fire.
	mid := 64 * 25
	got := w.Advance(at(mid).Add(1), fire)
	want := 0
	for i := range due {
		if due[i] <= mid {
			want++
			if fired[i] != 1 {
				t.Fatalf("timer due at %d fired %d times by %d", due[i], fired[i], mid)
			}
		} else if fired[i] != 0 || !es[i].Active() {
			t.Fatalf("timer due at %d fired early at %d", due[i], mid)
		}
	}
	if got != want || w.Len() != n-want {
		t.Fatalf("fired %d want %d, Len %d", got, want, w.Len())
	}
	checkInvariants(t, w)
	// Jump far beyond everything.
	got += w.Advance(at(1<<30), fire)
	if got != n || w.Len() != 0 {
		t.Fatalf("fired %d of %d, Len %d", got, n, w.Len())
	}
	for i := range fired {
		if fired[i] != 1 {
			t.Fatalf("timer %d fired %d times", i, fired[i])
		}
	}
	checkInvariants(t, w)
}

func TestPanicInFire(t *testing.T) {
	w := New[int](tk, 8, t0)
	es := newEntries(4)
	for i := range es {
		w.Schedule(&es[i], time.Duration(1+i*10)*tk) // 1, 11, 21, 31
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		w.Advance(at(40), func(e *entry) {
			if e.Value == 1 {
				panic("boom")
			}
		})
	}()
	if w.Len() != 2 || !es[2].Active() || !es[3].Active() {
		t.Fatalf("after panic: Len %d", w.Len())
	}
	checkInvariants(t, w)
	var got []int
	// The pending timers fire first even though time did not move.
	n := w.Advance(at(40), func(e *entry) { got = append(got, e.Value) })
	if n != 2 || !slices.Equal(got, []int{2, 3}) || w.Len() != 0 {
		t.Fatalf("fired %v, Len %d", got, w.Len())
	}
}

func TestLenRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	w := New[int](tk, 32, t0)
	es := newEntries(300)
	armed := 0
	for op := 0; op < 20000; op++ {
		e := &es[r.IntN(len(es))]
		switch r.IntN(3) {
		case 0:
			if !e.Active() {
				armed++
			}
			w.Schedule(e, time.Duration(r.IntN(100))*tk)
		case 1:
			if e.Active() {
				armed--
			}
			w.Cancel(e)
		case 2:
			armed -= w.Advance(w.Now().Add(time.Duration(r.IntN(5))*tk), nil)
		}
		if w.Len() != armed {
			t.Fatalf("op %d: Len %d, want %d", op, w.Len(), armed)
		}
	}
	checkInvariants(t, w)
}

func TestNoAllocs(t *testing.T) {
	w := New[*int](tk, 512, t0)
	es := make([]Timer[*int], 20000)
	for i := range es {
		v := i
		es[i].Value = &v
	}
	i := 0
	fire := func(e *Timer[*int]) { w.Schedule(e, 700*tk) }
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Schedule", func() { w.Schedule(&es[i%len(es)], time.Duration(i%2000)*tk); i++ }},
		{"ScheduleAt", func() { w.ScheduleAt(&es[i%len(es)], w.Now().Add(time.Duration(i%2000)*tk)); i++ }},
		{"Cancel", func() { w.Cancel(&es[i%len(es)]); i++ }},
		{"Advance", func() { w.Schedule(&es[i%len(es)], time.Duration(i%2000)*tk); i++; w.Advance(w.Now().Add(tk), fire) }},
		{"Advance big jump", func() {
			for j := range 1000 {
				w.Schedule(&es[j], time.Duration(j*7)*tk)
			}
			w.Advance(w.Now().Add(5000*tk), fire)
		}},
	} {
		if a := testing.AllocsPerRun(100, tc.f); a != 0 {
			t.Errorf("%s: %v allocs/op", tc.name, a)
		}
	}
	checkInvariants(t, w)
}

func TestNilFire(t *testing.T) {
	w := New[int](tk, 8, t0)
	es := newEntries(3)
	for i := range es {
		w.Schedule(&es[i], time.Duration(i+1)*tk)
	}
	if n := w.Advance(at(2), nil); n != 2 || w.Len() != 1 || es[0].Active() || es[1].Active() {
		t.Fatalf("nil fire: %d, Len %d", n, w.Len())
	}
}

func TestSortByExpiry(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 2, 3, 10, 1000} {
		es := newEntries(n)
		var head *entry
		for i := n - 1; i >= 0; i-- {
			es[i].expiry = uint64(r.IntN(20))
			es[i].next = head
			head = &es[i]
		}
		var got []*entry
		for t := sortByExpiry(head); t != nil; t = t.next {
			got = append(got, t)
		}
		if len(got) != n {
			t.Fatalf("n=%d: sorted list has %d", n, len(got))
		}
		for i := 1; i < len(got); i++ {
			a, b := got[i-1], got[i]
			if a.expiry > b.expiry || (a.expiry == b.expiry && a.Value > b.Value) {
				t.Fatalf("n=%d: not stably sorted at %d", n, i)
			}
		}
	}
}

func TestRemaining(t *testing.T) {
	start := time.Unix(1000, 0)
	w := New[int](10*time.Millisecond, 16, start)
	var tm Timer[int]
	if _, ok := w.Remaining(&tm); ok {
		t.Fatal("unarmed timer reports a remaining time")
	}
	w.Schedule(&tm, 95*time.Millisecond)
	if d, ok := w.Remaining(&tm); !ok || d != 100*time.Millisecond {
		t.Fatalf("remaining %v %v, want 100ms", d, ok)
	}
	w.Advance(start.Add(30*time.Millisecond), nil)
	if d, ok := w.Remaining(&tm); !ok || d != 70*time.Millisecond {
		t.Fatalf("after 30ms: remaining %v %v, want 70ms", d, ok)
	}
	w.Cancel(&tm)
	if _, ok := w.Remaining(&tm); ok {
		t.Fatal("cancelled timer reports a remaining time")
	}
}
