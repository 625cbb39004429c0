// Package histo is a small log-linear latency histogram that merges across
// processes: 64 sub-buckets per power of two (about 1.6% relative error).
package histo

import (
	"math/bits"
	"sort"
	"sync"
	"time"
)

const subBits = 6
const subCount = 1 << subBits

// H counts durations in nanoseconds. The zero value is ready; it is safe for
// concurrent use.
type H struct {
	mu     sync.Mutex
	counts map[int]uint64
	n      uint64
	max    int64
}

func index(v int64) int {
	if v < subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	exp := bits.Len64(uint64(v)) - subBits // >= 1
	sub := int(uint64(v) >> uint(exp-1))   // in [subCount, 2*subCount)
	return exp*subCount + sub - subCount
}

// lower returns the smallest value of bucket i and the bucket's width.
func lower(i int) (int64, int64) {
	if i < subCount {
		return int64(i), 1
	}
	exp := i / subCount
	sub := i%subCount + subCount
	w := int64(1) << uint(exp-1)
	return int64(sub) * w, w
}

// Record adds one observation.
func (h *H) Record(d time.Duration) {
	h.mu.Lock()
	h.recordLocked(int64(d), 1)
	h.mu.Unlock()
}

func (h *H) recordLocked(v int64, n uint64) {
	if h.counts == nil {
		h.counts = make(map[int]uint64)
	}
	h.counts[index(v)] += n
	h.n += n
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's observations to h.
func (h *H) Merge(o *H) {
	s := o.Snapshot()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts = make(map[int]uint64)
	}
	for i, c := range s.Counts {
		h.counts[i] += c
		h.n += c
	}
	if s.Max > h.max {
		h.max = s.Max
	}
}

// Snapshot is the wire form of H.
type Snapshot struct {
	Counts map[int]uint64 `json:"counts"`
	Max    int64          `json:"max"`
}

// Snapshot copies h.
func (h *H) Snapshot() Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Snapshot{Counts: make(map[int]uint64, len(h.counts)), Max: h.max}
	for i, c := range h.counts {
		s.Counts[i] = c
	}
	return s
}

// FromSnapshot rebuilds a histogram.
func FromSnapshot(s Snapshot) *H {
	h := &H{counts: make(map[int]uint64, len(s.Counts)), max: s.Max}
	for i, c := range s.Counts {
		h.counts[i] = c
		h.n += c
	}
	return h
}

// Count is the number of observations.
func (h *H) Count() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Quantile returns the q-quantile (0 < q <= 1), the midpoint of its bucket
// (the exact maximum for q = 1).
func (h *H) Quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	keys := make([]int, 0, len(h.counts))
	for i := range h.counts {
		keys = append(keys, i)
	}
	sort.Ints(keys)
	rank := uint64(q*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for _, i := range keys {
		seen += h.counts[i]
		if seen >= rank {
			lo, w := lower(i)
			v := lo + w/2
			if v > h.max {
				v = h.max
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}
