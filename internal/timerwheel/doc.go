// Package timerwheel is a hashed timing wheel with coarse ticks, built for
// one event loop that owns many connections, each with a heartbeat or
// timeout.
//
// A [Timer] is intrusive: the owner embeds it by value in its own state
// (for example a connection struct) and sets [Timer.Value] once, usually to
// a pointer back to the owner. Arming, re-arming and cancelling link and
// unlink that embedded entry in O(1); nothing is allocated per timer or per
// arm, and there is no goroutine or [time.Timer] behind it.
//
// # Time
//
// A [Wheel] never reads the clock. It starts at the time given to [New]
// (its origin) and moves only when [Wheel.Advance] is given a later time.
// Time is counted in whole ticks since the origin: tick k begins at
// origin + k*tick, and the wheel's current tick is the last time passed to
// Advance, truncated to a tick ([Wheel.Now]).
//
// A timer's expiry is a tick number. [Wheel.ScheduleAt] rounds the wanted
// time up to a tick boundary, so a timer never fires before the time asked
// for, as seen by the times given to Advance. [Wheel.Schedule] counts d from
// [Wheel.Now] (the truncated current tick), rounded up to whole ticks and at
// least one tick: Schedule(t, d) is ScheduleAt(t, w.Now().Add(d)). Because
// the real clock is usually part-way through the current tick when Schedule
// is called, a timer armed with Schedule fires between d-tick and d after
// the real time of the call, plus however late Advance runs. Give timeouts a
// tick of slack, or use ScheduleAt with the real time when that matters.
//
// A timer fires in the first Advance whose now is at or after its expiry
// tick's boundary. Advance with a time that is not later than the current
// tick (including time going backwards) fires nothing new.
//
// # Order and callbacks
//
// Advance first collects every due timer into a pending list, in order of
// expiry tick, moves the wheel's current tick to now, and only then calls
// fire for each, one at a time, disarming each just before its call. Timers
// due in the same tick fire in the order they were armed (the latest
// Schedule or ScheduleAt call of each counts). Inside fire the callback may
// Schedule, ScheduleAt or Cancel any timer, the fired one included:
//
//   - a timer cancelled before its turn does not fire;
//   - a timer re-armed inside fire (the fired one or any other, even one
//     that was due and pending) gets an expiry after the new current tick,
//     so it never fires again within the same Advance call.
//
// If fire panics, the timers still pending stay armed (and counted by
// [Wheel.Len]) and fire, in order, at the start of the next Advance.
//
// # Cost
//
// The wheel has a power-of-two number of slots; a timer sits in slot
// expiry mod slots. Timers more than one rotation (slots*tick) ahead stay in
// their slot with their absolute expiry and are skipped until their round
// comes. Advancing by k ticks visits min(k, slots) slots and every timer in
// them, due or not; a timer also costs a skip each time the wheel passes its
// slot before its round. Choose slots*tick at least as long as the common
// timeouts (heartbeat interval, idle timeout) so that most timers are due
// when their slot is visited. A jump of more than one rotation visits every
// slot once and every armed timer once, and sorts the due timers from later
// rounds (O(n log n) in those, no allocation) to keep expiry order: the cost
// is bounded by the slot count and the armed timers, never by the elapsed
// ticks.
//
// # Rules
//
// A Wheel is not safe for concurrent use: touch it and its timers from one
// goroutine (the event loop that owns them). A Timer belongs to at most one
// wheel at a time: cancel it there before arming it on another. An armed
// Timer must not be copied or moved, and its owner must cancel it before
// dropping it: while armed, the wheel holds pointers to it (and so keeps the
// owner alive) and will fire it.
package timerwheel
