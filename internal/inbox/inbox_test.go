package inbox

import (
	"sync"
	"testing"
)

func TestPutTake(t *testing.T) {
	var q Inbox[*int]
	one, two, three := new(int), new(int), new(int)
	for i, tc := range []struct {
		p    *int
		wake bool
	}{{one, true}, {two, false}, {three, false}} {
		if got := q.Put(tc.p); got != tc.wake {
			t.Fatalf("put %d: wake %v, want %v", i, got, tc.wake)
		}
	}
	if q.Len() != 3 {
		t.Fatalf("Len %d", q.Len())
	}
	b := q.Take()
	if len(b) != 3 || b[0] != one || b[1] != two || b[2] != three {
		t.Fatalf("batch %v", b)
	}
	if !q.Put(one) { // after a Take, the next Put wakes again
		t.Fatal("no wake after Take")
	}
	q.Done(b)
	if b[0] != nil || b[2] != nil {
		t.Fatal("Done kept items alive")
	}
	q.Unwake()
	if !q.Put(two) {
		t.Fatal("no wake after Unwake")
	}
	if b := q.Take(); len(b) != 2 || b[0] != one || b[1] != two {
		t.Fatalf("batch after Unwake %v", b)
	}
}

// In steady state the two halves of the double buffer are reused.
func TestNoAllocs(t *testing.T) {
	var q Inbox[int]
	for range 2 {
		q.Put(1)
		q.Put(2)
		q.Done(q.Take())
	}
	if n := testing.AllocsPerRun(100, func() {
		q.Put(1)
		q.Put(2)
		q.Done(q.Take())
	}); n != 0 {
		t.Fatalf("%v allocations per round", n)
	}
}

// Items put from many goroutines are each taken exactly once, and every
// round that found the inbox empty asked for exactly one wake.
func TestConcurrent(t *testing.T) {
	var q Inbox[int]
	const writers, each = 8, 1000
	var wg sync.WaitGroup
	wakes := make(chan struct{}, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if q.Put(w*each + i) {
					wakes <- struct{}{}
				}
			}
		})
	}
	seen := make([]bool, writers*each)
	taken := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		b := q.Take()
		for _, v := range b {
			if seen[v] {
				t.Fatalf("%d taken twice", v)
			}
			seen[v] = true
		}
		taken += len(b)
		q.Done(b)
		if finished && q.Len() == 0 {
			break
		}
	}
	if taken != writers*each {
		t.Fatalf("took %d of %d", taken, writers*each)
	}
	if len(wakes) == 0 || len(wakes) > writers*each {
		t.Fatalf("%d wakes", len(wakes))
	}
}
