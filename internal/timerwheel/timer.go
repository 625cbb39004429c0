package timerwheel

// Timer is an intrusive wheel entry. Embed it by value in the owner's
// state and set Value once (for example to a pointer to the owning
// connection); the wheel never reads or writes Value.
//
// The zero Timer is unarmed and ready to use. An armed Timer must not be
// copied (go vet's copylocks check reports copies). On 64-bit platforms a
// Timer[*X] takes 32 bytes: two links, the expiry tick and Value.
type Timer[T any] struct {
	_ noCopy

	// Value is the caller's: typically a pointer to the owner.
	Value T

	// next and prev link the timer into a slot's (or the pending) circular
	// list; both are nil exactly when the timer is not armed.
	next, prev *Timer[T]
	// expiry is the absolute tick number at which the timer is due.
	expiry uint64
}

// Active reports whether t is armed: scheduled and not yet fired or
// cancelled. A timer is no longer active when its fire callback runs.
func (t *Timer[T]) Active() bool { return t.next != nil }

// unlink removes t from whatever list holds it and marks it unarmed.
func (t *Timer[T]) unlink() {
	t.prev.next = t.next
	t.next.prev = t.prev
	t.next, t.prev = nil, nil
}

// linkBefore inserts the unlinked t just before at (at the tail when at is
// a list's sentinel).
func (t *Timer[T]) linkBefore(at *Timer[T]) {
	p := at.prev
	t.prev, t.next = p, at
	p.next = t
	at.prev = t
}

// noCopy makes go vet's copylocks check report copies of a Timer (and of
// any struct that embeds one by value). It takes no space.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
