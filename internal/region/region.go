package region

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// DefaultRetain is the default bound on resident bytes kept in released
// regions, across all pools.
const DefaultRetain = 64 << 20

var (
	retainLimit   atomic.Int64 // bound on retained
	retained      atomic.Int64 // resident bytes kept in free regions, all pools
	mapped        atomic.Int64 // address space mapped, all pools
	inUse         atomic.Int64 // regions handed out and not given back
	releasedBytes atomic.Int64 // bytes handed back to the kernel
)

func init() { retainLimit.Store(DefaultRetain) }

// SetRetain sets the bound on resident bytes kept in released regions,
// across all pools, and returns the previous one. 0 keeps none.
func SetRetain(n int64) int64 { return retainLimit.Swap(max(n, 0)) }

// Stats is what every pool together holds.
type Stats struct {
	Mapped   int64 // address space reserved by regions, in use or free
	InUse    int64 // regions handed out and not yet given back
	Retained int64 // resident bytes kept in free regions for reuse
	Released int64 // bytes handed back to the kernel so far
}

// ReadStats returns the counters of all pools.
func ReadStats() Stats {
	return Stats{Mapped: mapped.Load(), InUse: inUse.Load(), Retained: retained.Load(), Released: releasedBytes.Load()}
}

// Pool hands out regions of one size. It is safe for concurrent use.
type Pool struct {
	size int

	mu    sync.Mutex
	free  []entry
	inUse map[*byte]int // region start -> resident bytes at its head when handed out
}

type entry struct {
	b    []byte // the whole region, length 0
	keep int    // resident bytes at its head
	at   int64  // when it was put back (Unix ns)
}

var (
	poolsMu sync.Mutex
	pools   = map[int]*Pool{}
)

// DefaultIdle is how long the pages of a released region stay resident for
// the next large message before Trim hands them back: what the engine and
// the client pass to Trim on their tickers.
const DefaultIdle = 2 * time.Second

// ForLimit is the pool a decoder whose messages may reach limit bytes takes
// its large-message buffers from: For(limit) when limit is above small (the
// most a message keeps in its heap buffer), else nil, as where regions are
// not supported.
func ForLimit(limit, small int64) *Pool {
	if limit <= small {
		return nil
	}
	return For(int(min(limit, math.MaxInt)))
}

// For returns the shared pool of regions of at least size bytes (rounded
// up to whole pages), or nil where regions are not supported.
func For(size int) *Pool {
	if !supported || size <= 0 {
		return nil
	}
	size = roundUp(size)
	poolsMu.Lock()
	defer poolsMu.Unlock()
	p := pools[size]
	if p == nil {
		p = &Pool{size: size, inUse: map[*byte]int{}}
		pools[size] = p
	}
	return p
}

// Size is the capacity of the pool's regions.
func (p *Pool) Size() int { return p.size }

// Get returns a region of length 0 and capacity Size, or nil when size is
// larger than that or no address space can be had.
func (p *Pool) Get(size int) []byte {
	if size > p.size {
		return nil
	}
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		e := p.free[n-1]
		p.free[n-1] = entry{}
		p.free = p.free[:n-1]
		p.inUse[unsafe.SliceData(e.b)] = e.keep
		p.mu.Unlock()
		inUse.Add(1)
		retained.Add(-int64(e.keep))
		return e.b
	}
	p.mu.Unlock()
	b, err := mapRegion(p.size)
	if err != nil {
		return nil
	}
	mapped.Add(int64(p.size))
	p.mu.Lock()
	p.inUse[unsafe.SliceData(b)] = 0
	p.mu.Unlock()
	inUse.Add(1)
	return b[:0]
}

// Put takes back a region Get returned, of which len(b) bytes were
// written. Its pages stay resident while the shared bound allows; the rest
// go back to the kernel now.
func (p *Pool) Put(b []byte) {
	if cap(b) != p.size {
		panic("region: Put of a buffer that is not a region of this pool")
	}
	whole := b[:p.size]
	start := unsafe.SliceData(whole)
	p.mu.Lock()
	keep0, ok := p.inUse[start]
	delete(p.inUse, start)
	p.mu.Unlock()
	if !ok {
		panic("region: Put of a region not in use")
	}
	inUse.Add(-1)
	touched := max(keep0, roundUp(len(b)))
	keep := reserve(touched)
	if keep < touched {
		release(whole[keep:touched])
		releasedBytes.Add(int64(touched - keep))
	}
	p.mu.Lock()
	p.free = append(p.free, entry{b: whole[:0], keep: keep, at: time.Now().UnixNano()})
	p.mu.Unlock()
}

// Trim hands back to the kernel the retained pages of regions released
// more than idle ago, in every pool: memory kept for a flow of large
// messages that has stopped goes back to the baseline. Cheap when nothing
// is retained; meant to be called periodically (the engine and the
// client do on their tickers, with DefaultIdle).
func Trim(idle time.Duration) {
	if retained.Load() == 0 {
		return
	}
	poolsMu.Lock()
	all := make([]*Pool, 0, len(pools))
	for _, p := range pools {
		all = append(all, p)
	}
	poolsMu.Unlock()
	before := time.Now().Add(-idle).UnixNano()
	for _, p := range all {
		p.trim(before)
	}
}

// trim releases the pages of free regions put back before the given time.
// They leave the free list while their pages are released, so no Get can
// hand one out half released.
func (p *Pool) trim(before int64) {
	var stale []entry
	p.mu.Lock()
	kept := p.free[:0]
	for _, e := range p.free {
		if e.keep > 0 && e.at < before {
			stale = append(stale, e)
		} else {
			kept = append(kept, e)
		}
	}
	clear(p.free[len(kept):])
	p.free = kept
	p.mu.Unlock()
	for i := range stale {
		e := &stale[i]
		release(e.b[:e.keep])
		releasedBytes.Add(int64(e.keep))
		retained.Add(-int64(e.keep))
		e.keep = 0
	}
	if len(stale) > 0 {
		p.mu.Lock()
		p.free = append(p.free, stale...)
		p.mu.Unlock()
	}
}

// reserve takes up to want bytes (whole pages) of the retain bound.
func reserve(want int) int {
	for {
		r := retained.Load()
		room := retainLimit.Load() - r
		n := int64(want)
		if n > room {
			n = max(room, 0) &^ int64(pageSize-1)
		}
		if n == 0 || retained.CompareAndSwap(r, r+n) {
			return int(n)
		}
	}
}

func roundUp(n int) int { return (n + pageSize - 1) &^ (pageSize - 1) }
