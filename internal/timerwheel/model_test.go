package timerwheel

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// model is the simple reference: a set of armed timers with their expiry
// tick and arming sequence number, searched linearly.
type model struct {
	origin time.Time
	tick   time.Duration
	cur    uint64 // ticks since origin, the floor of the latest time seen
	seq    uint64
	armed  map[int]modelTimer
}

type modelTimer struct{ expiry, seq uint64 }

func (m *model) boundary(k uint64) time.Time { return m.origin.Add(time.Duration(k) * m.tick) }

// expiryFor returns the first tick boundary at or after base+d (base for
// ScheduleAt is the wanted time, d 0), at least one after the current tick,
// and checks it against the boundaries by time comparison.
func (m *model) expiryFor(tb testing.TB, want time.Time) uint64 {
	k := m.cur + 1
	if d := want.Sub(m.origin); d > 0 {
		if c := uint64((d + m.tick - 1) / m.tick); c > k {
			k = c
		}
	}
	if m.boundary(k).Before(want) {
		tb.Fatalf("model: boundary of tick %d is before %v", k, want)
	}
	if k > m.cur+1 && !m.boundary(k-1).Before(want) {
		tb.Fatalf("model: tick %d is not the first boundary at or after %v", k, want)
	}
	return k
}

func (m *model) arm(id int, expiry uint64) {
	m.seq++
	m.armed[id] = modelTimer{expiry, m.seq}
}

// due reports whether a timer expiring at tick e is due at now: now is at or
// after the tick's boundary.
func (m *model) due(e uint64, now time.Time) bool { return !now.Before(m.boundary(e)) }

// next returns the armed timer that must fire next at now, or -1.
func (m *model) next(now time.Time) int {
	best, bt := -1, modelTimer{}
	for id, mt := range m.armed {
		if !m.due(mt.expiry, now) {
			continue
		}
		if best < 0 || mt.expiry < bt.expiry || (mt.expiry == bt.expiry && mt.seq < bt.seq) {
			best, bt = id, mt
		}
	}
	return best
}

func TestModel(t *testing.T) {
	for _, cfg := range []struct {
		slots  int
		tick   time.Duration
		timers int
		ops    int
	}{
		{1, tk, 20, 5000},
		{4, tk, 50, 20000},
		{16, 7 * time.Millisecond, 100, 20000},
		{64, time.Second, 200, 20000},
		{512, 100 * time.Millisecond, 300, 10000},
	} {
		for seed := uint64(1); seed <= 3; seed++ {
			name := fmt.Sprintf("slots=%d/tick=%v/seed=%d", cfg.slots, cfg.tick, seed)
			t.Run(name, func(t *testing.T) {
				runModel(t, cfg.slots, cfg.tick, cfg.timers, cfg.ops, seed)
			})
		}
	}
}

func runModel(t *testing.T, slots int, tick time.Duration, timers, ops int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, uint64(slots)))
	origin := time.Date(2025, 6, 1, 0, 0, 0, 123456789, time.UTC)
	w := New[int](tick, slots, origin)
	m := &model{origin: origin, tick: tick, armed: map[int]modelTimer{}}
	es := newEntries(timers)
	now := origin
	rot := time.Duration(w.Slots()) * tick

	// randDur returns a delay: negative, zero, sub-tick, exact ticks, or up
	// to a few rotations, or many.
	randDur := func() time.Duration {
		switch r.IntN(8) {
		case 0:
			return -time.Duration(r.Int64N(int64(rot) + 1))
		case 1:
			return 0
		case 2:
			return time.Duration(r.Int64N(int64(tick)))
		case 3:
			return time.Duration(r.IntN(3*w.Slots())) * tick
		case 4:
			return time.Duration(r.Int64N(int64(20 * rot)))
		default:
			return time.Duration(r.Int64N(int64(2*rot) + 1))
		}
	}
	schedule := func(id int) {
		d := randDur()
		m.arm(id, m.expiryFor(t, m.boundary(m.cur).Add(d)))
		w.Schedule(&es[id], d)
	}
	scheduleAt := func(id int) {
		when := now.Add(randDur())
		m.arm(id, m.expiryFor(t, when))
		w.ScheduleAt(&es[id], when)
	}
	cancel := func(id int) {
		delete(m.armed, id)
		w.Cancel(&es[id])
	}
	checkArmed := func(where string) {
		t.Helper()
		if w.Len() != len(m.armed) {
			t.Fatalf("%s: Len %d, model %d", where, w.Len(), len(m.armed))
		}
		for id := range es {
			mt, ok := m.armed[id]
			if es[id].Active() != ok {
				t.Fatalf("%s: timer %d Active %v, model %v", where, id, es[id].Active(), ok)
			}
			if ok && es[id].expiry != mt.expiry {
				t.Fatalf("%s: timer %d expiry %d, model %d", where, id, es[id].expiry, mt.expiry)
			}
		}
	}

	var advNow time.Time
	fired := 0
	fire := func(e *entry) {
		want := m.next(advNow)
		if e.Value != want {
			t.Fatalf("fired timer %d (expiry %d), model expects %d (%+v) at tick %d",
				e.Value, e.expiry, want, m.armed[want], m.cur)
		}
		if e.Active() {
			t.Fatalf("timer %d active inside fire", e.Value)
		}
		delete(m.armed, e.Value)
		fired++
		// Mutate from inside fire: re-arm self, re-arm/cancel others
		// (possibly pending in this same Advance).
		for range r.IntN(3) {
			id := r.IntN(len(es))
			if r.IntN(4) == 0 {
				id = e.Value
			}
			switch r.IntN(4) {
			case 0, 1:
				schedule(id)
			case 2:
				scheduleAt(id)
			case 3:
				cancel(id)
			}
		}
	}

	for op := 0; op < ops; op++ {
		id := r.IntN(len(es))
		switch c := r.IntN(20); {
		case c < 7:
			schedule(id)
		case c < 9:
			scheduleAt(id)
		case c < 12:
			cancel(id)
		default:
			var step time.Duration
			switch r.IntN(10) {
			case 0:
				step = 0
			case 1:
				step = -time.Duration(r.Int64N(int64(rot))) // backwards
			case 2:
				step = time.Duration(r.Int64N(int64(tick)))
			case 3:
				step = tick
			case 4:
				step = time.Duration(r.Int64N(int64(3 * rot)))
			case 5:
				step = time.Duration(r.Int64N(int64(30 * rot)))
			default:
				step = time.Duration(r.Int64N(int64(4*tick) + 1))
			}
			advNow = now.Add(step)
			if step > 0 {
				now = advNow
			}
			// The model's tick moves first: timers armed in fire count
			// from the new tick.
			if d := advNow.Sub(origin); d > 0 {
				m.cur = max(m.cur, uint64(d/tick))
			}
			fired = 0
			n := w.Advance(advNow, fire)
			if n != fired {
				t.Fatalf("op %d: Advance returned %d, fire called %d times", op, n, fired)
			}
			if id := m.next(advNow); id >= 0 {
				t.Fatalf("op %d: timer %d (expiry %d) due at tick %d but not fired", op, id, m.armed[id].expiry, m.cur)
			}
			if !w.Now().Equal(m.boundary(m.cur)) {
				t.Fatalf("op %d: Now %v, model %v", op, w.Now(), m.boundary(m.cur))
			}
		}
		checkArmed(fmt.Sprintf("op %d", op))
		if op%50 == 0 {
			checkInvariants(t, w)
		}
	}
	// Finally jump past everything: all fire, once each, in order.
	advNow = now.Add(100 * rot)
	m.cur = uint64(advNow.Sub(origin) / tick)
	w.Advance(advNow, func(e *entry) {
		want := m.next(advNow)
		if e.Value != want {
			t.Fatalf("final: fired %d, model expects %d", e.Value, want)
		}
		delete(m.armed, e.Value)
	})
	if len(m.armed) != 0 || w.Len() != 0 {
		t.Fatalf("final: model %d armed, Len %d", len(m.armed), w.Len())
	}
	checkInvariants(t, w)
}
