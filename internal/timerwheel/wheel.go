package timerwheel

import (
	"math/bits"
	"time"
)

const (
	// DefaultSlots is the slot count New uses when given slots <= 0.
	DefaultSlots = 512
	// MaxSlots is the largest slot count New accepts; larger requests are
	// clamped to it.
	MaxSlots = 1 << 20
)

// Wheel is a hashed timing wheel with coarse ticks. Not safe for concurrent
// use: touch it from one goroutine (the event loop). Make one with New; the
// zero Wheel is not usable.
type Wheel[T any] struct {
	_ noCopy

	tick   time.Duration
	origin time.Time  // time of tick 0
	cur    uint64     // current tick: every timer in a slot expires after it
	mask   uint64     // len(slots) - 1
	slots  []Timer[T] // sentinels of circular lists, one per slot
	count  int        // armed timers, pending ones included
	// pending holds due timers collected by Advance and not yet fired, in
	// firing order; it is empty outside Advance unless a fire panicked.
	pending Timer[T]
}

// New makes a wheel with the given tick (granularity) and number of slots
// (rounded up to a power of two; <= 0 means DefaultSlots; at most MaxSlots),
// starting at now: tick k of the wheel begins at now + k*tick. It panics if
// tick is not positive.
func New[T any](tick time.Duration, slots int, now time.Time) *Wheel[T] {
	if tick <= 0 {
		panic("timerwheel: tick must be positive")
	}
	switch {
	case slots <= 0:
		slots = DefaultSlots
	case slots > MaxSlots:
		slots = MaxSlots
	default:
		slots = 1 << bits.Len(uint(slots-1))
	}
	w := &Wheel[T]{
		tick:   tick,
		origin: now,
		mask:   uint64(slots - 1),
		slots:  make([]Timer[T], slots),
	}
	for i := range w.slots {
		s := &w.slots[i]
		s.next, s.prev = s, s
	}
	w.pending.next, w.pending.prev = &w.pending, &w.pending
	return w
}

// Schedule arms t to fire after d, counted from the wheel's current tick
// (Now) and rounded up to whole ticks, at least one tick: d <= 0 fires on the
// next tick. If t is already armed it is re-armed. O(1), no allocation.
func (w *Wheel[T]) Schedule(t *Timer[T], d time.Duration) {
	ticks := uint64(1)
	if d > w.tick {
		ticks = uint64(d / w.tick)
		if d%w.tick != 0 {
			ticks++
		}
	}
	w.arm(t, w.cur+ticks)
}

// ScheduleAt arms t to fire at the given time, rounded up to the next tick
// boundary and at least one tick after the wheel's current tick. If t is
// already armed it is re-armed. O(1), no allocation.
func (w *Wheel[T]) ScheduleAt(t *Timer[T], at time.Time) {
	e := w.cur + 1
	if d := at.Sub(w.origin); d > 0 {
		k := uint64(d / w.tick)
		if d%w.tick != 0 {
			k++
		}
		if k > e {
			e = k
		}
	}
	w.arm(t, e)
}

// arm links t, unlinking it first if armed, into the tail of the slot for
// expiry e (> w.cur).
func (w *Wheel[T]) arm(t *Timer[T], e uint64) {
	if t.next != nil {
		t.unlink()
	} else {
		w.count++
	}
	t.expiry = e
	t.linkBefore(&w.slots[e&w.mask])
}

// Remaining reports how long until an armed t is due, counted from the
// wheel's current tick (Now); ok is false when t is not armed.
func (w *Wheel[T]) Remaining(t *Timer[T]) (d time.Duration, ok bool) {
	if t.next == nil {
		return 0, false
	}
	return time.Duration(t.expiry-w.cur) * w.tick, true
}

// Cancel disarms t if armed; it does nothing on an unarmed timer. O(1).
func (w *Wheel[T]) Cancel(t *Timer[T]) {
	if t.next != nil {
		t.unlink()
		w.count--
	}
}

// Advance moves the wheel to now and calls fire(t) for every timer whose
// expiry tick has been reached (now at or after the tick's boundary), in
// order of expiry tick; timers due in the same tick fire in the order they
// were armed. It returns the number of timers fired.
//
// All due timers are collected and the current tick is moved to now before
// the first call. Each timer is disarmed just before fire is called for it,
// so fire may re-arm it, and may Cancel or re-arm any other timer, including
// due ones not yet fired: a cancelled one does not fire, and a re-armed one
// expires after the new current tick, so nothing fires twice in one call.
// A nil fire just disarms the due timers.
//
// Time that does not move past the current tick, or goes backwards, is
// ignored. A jump of more than one rotation still fires every due timer
// exactly once, in expiry order, at a cost bounded by the slot count and the
// armed timers rather than the elapsed ticks.
//
// If fire panics, the timers not yet fired stay armed and fire first in the
// next Advance.
func (w *Wheel[T]) Advance(now time.Time, fire func(*Timer[T])) int {
	if d := now.Sub(w.origin); d > 0 {
		if target := uint64(d / w.tick); target > w.cur {
			w.collect(target)
			w.cur = target
		}
	}
	return w.drain(fire)
}

// collect moves every timer with expiry <= target from the slots to the
// tail of w.pending, in expiry order (arming order within a tick). It calls
// no user code.
func (w *Wheel[T]) collect(target uint64) {
	end := target
	if n := w.mask + 1; target-w.cur > n {
		end = w.cur + n // a full rotation visits every slot
	}
	pend := &w.pending
	// Due timers from later rounds (possible only when the jump is longer
	// than a rotation), in a nil-terminated list through next. They all
	// expire after end, so after every timer collected directly.
	var late *Timer[T]
	lateTail := &late
	for k := w.cur + 1; k <= end; k++ {
		head := &w.slots[k&w.mask]
		for t := head.next; t != head; {
			nx := t.next
			if t.expiry <= target {
				t.prev.next = nx
				nx.prev = t.prev
				if t.expiry == k {
					t.linkBefore(pend)
				} else {
					t.next = nil
					*lateTail = t
					lateTail = &t.next
				}
			}
			t = nx
		}
	}
	for t := sortByExpiry(late); t != nil; {
		nx := t.next
		t.linkBefore(pend)
		t = nx
	}
}

// sortByExpiry sorts a nil-terminated list (linked through next) by expiry,
// stably, and returns its new head. Merge sort: O(n log n) time, O(log n)
// stack, no allocation.
func sortByExpiry[T any](head *Timer[T]) *Timer[T] {
	if head == nil || head.next == nil {
		return head
	}
	slow, fast := head, head.next
	for fast != nil && fast.next != nil {
		slow, fast = slow.next, fast.next.next
	}
	b := slow.next
	slow.next = nil
	a := sortByExpiry(head)
	b = sortByExpiry(b)
	var out *Timer[T]
	tail := &out
	for a != nil && b != nil {
		if b.expiry < a.expiry {
			*tail, tail, b = b, &b.next, b.next
		} else {
			*tail, tail, a = a, &a.next, a.next
		}
	}
	if a != nil {
		*tail = a
	} else {
		*tail = b
	}
	return out
}

// drain fires the pending timers one at a time, re-reading the head each
// time since fire may cancel or re-arm pending timers.
func (w *Wheel[T]) drain(fire func(*Timer[T])) int {
	n := 0
	p := &w.pending
	for {
		t := p.next
		if t == p {
			return n
		}
		t.unlink()
		w.count--
		n++
		if fire != nil {
			fire(t)
		}
	}
}

// Len reports the number of armed timers.
func (w *Wheel[T]) Len() int { return w.count }

// Tick reports the tick duration.
func (w *Wheel[T]) Tick() time.Duration { return w.tick }

// Slots reports the number of slots (a power of two).
func (w *Wheel[T]) Slots() int { return len(w.slots) }

// Now reports the wheel's current time: the time of the last Advance that
// moved it (or the time given to New), truncated to a tick boundary.
func (w *Wheel[T]) Now() time.Time {
	return w.origin.Add(time.Duration(w.cur) * w.tick)
}
