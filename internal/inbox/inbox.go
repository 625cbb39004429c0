package inbox

import "sync"

// Inbox is one loop's queue. The zero value is ready to use. Put and
// Unwake may be called from any goroutine; Take and Done only on the loop,
// one batch at a time.
type Inbox[T any] struct {
	mu        sync.Mutex
	items     []T
	scheduled bool // a drain is queued on the loop
	spare     []T  // the other half of the double buffer, loop only
}

// Put appends t and reports whether the caller must wake the loop: true
// for the first item since the loop last took the inbox.
func (q *Inbox[T]) Put(t T) (wake bool) {
	q.mu.Lock()
	q.items = append(q.items, t)
	wake = !q.scheduled
	q.scheduled = true
	q.mu.Unlock()
	return wake
}

// Unwake records that waking the loop failed (it is stopping): the next
// Put asks for a wake again. The items stay queued.
func (q *Inbox[T]) Unwake() {
	q.mu.Lock()
	q.scheduled = false
	q.mu.Unlock()
}

// Take returns every item queued, in order, and empties the inbox. Run
// them, then call Done with the batch.
func (q *Inbox[T]) Take() []T {
	q.mu.Lock()
	batch := q.items
	q.items = q.spare[:0]
	q.scheduled = false
	q.mu.Unlock()
	return batch
}

// Done clears batch (so that it holds nothing alive) and keeps it as the
// next spare.
func (q *Inbox[T]) Done(batch []T) {
	clear(batch)
	q.spare = batch[:0]
}

// Len returns how many items are queued.
func (q *Inbox[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
