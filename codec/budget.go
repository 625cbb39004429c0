package codec

import (
	"math"
	"sync/atomic"
)

const maxInt = int64(math.MaxInt)

// Budget bounds the bytes held in messages in progress by every decoder
// that shares it (DecoderConfig.Budget): the server-wide answer to many
// peers that each start a large message and stall. Bytes are charged as
// they arrive and given back when the message is delivered or dropped; a
// decoder whose next bytes would pass the limit fails with ErrOverBudget
// and drops its message, and no other decoder is affected.
//
// A Budget is safe for concurrent use.
type Budget struct {
	limit   int64
	used    atomic.Int64
	peak    atomic.Int64
	refused atomic.Uint64
}

// NewBudget returns a budget of limit bytes; limit <= 0 means unlimited
// (the bytes are still counted).
func NewBudget(limit int64) *Budget {
	if limit <= 0 {
		limit = math.MaxInt64
	}
	return &Budget{limit: limit}
}

// Limit is the budget in bytes (math.MaxInt64 when unlimited).
func (b *Budget) Limit() int64 { return b.limit }

// Used is the number of bytes held now.
func (b *Budget) Used() int64 { return b.used.Load() }

// Peak is the most bytes held at once so far.
func (b *Budget) Peak() int64 { return b.peak.Load() }

// Refused counts the decoders failed with ErrOverBudget.
func (b *Budget) Refused() uint64 { return b.refused.Load() }

// Take charges n bytes held outside a decoder (a layer after it, such as
// an inflated message), or refuses them, counting a refusal, when they
// would pass the limit. Bytes taken are given back with Give.
func (b *Budget) Take(n int) bool { return b.take(n) }

// Give returns n bytes charged by Take.
func (b *Budget) Give(n int) { b.give(n) }

// Available is how many bytes can be taken now (0 when the budget is
// spent). Another user may take them first: Take is the only guarantee.
func (b *Budget) Available() int64 { return max(b.limit-b.used.Load(), 0) }

// take charges n bytes, or refuses them when they would pass the limit.
func (b *Budget) take(n int) bool {
	used := b.used.Add(int64(n))
	if used > b.limit {
		b.used.Add(-int64(n))
		b.refused.Add(1)
		return false
	}
	for {
		p := b.peak.Load()
		if used <= p || b.peak.CompareAndSwap(p, used) {
			return true
		}
	}
}

// give returns n bytes charged by take.
func (b *Budget) give(n int) { b.used.Add(-int64(n)) }

// LargeBuffers supplies the buffers of large messages in progress
// (DecoderConfig.Large). The decoder asks for one sized for the whole
// message limit when a message outgrows SmallMessageMax, writes the
// message's bytes into it in order, and gives it back once the message has
// been delivered or dropped. An implementation should commit memory only as
// it is written (the decoder charges its Budget by bytes written, not by
// capacity), which an anonymous memory mapping does.
//
// Implementations must be safe for concurrent use.
type LargeBuffers interface {
	// Get returns a buffer of length 0 and capacity at least size, or nil
	// when none can be had (the decoder then grows a heap buffer).
	Get(size int) []byte
	// Put takes back a buffer Get returned; len(b) bytes of it were
	// written. The caller no longer uses it.
	Put(b []byte)
}

// Reserve charges n bytes held for a decoder's connection outside the
// decoder (a server's partial TLS record, which must arrive whole before
// its frames can be decoded), or refuses them, as the decoder's own bytes,
// when they would pass the limit.
func (b *Budget) Reserve(n int) bool { return b.take(n) }

// Unreserve gives back n bytes charged by Reserve.
func (b *Budget) Unreserve(n int) { b.give(n) }
