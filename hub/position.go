package hub

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
)

// Position is where a message stands in its topic's stream: Offset counts
// the topic's messages (1, 2, 3, ... with no gap), Epoch names the stream.
// When a topic's history is lost (an in-memory history that was dropped, a
// Redis flush) its stream starts again under a new epoch, so a client can
// tell "I missed nothing" from "what I missed is gone".
//
// Only topics with history (Config.History) have positions; elsewhere the
// Position is zero.
type Position struct {
	Offset uint64
	Epoch  string
}

// IsZero reports whether p is the zero Position (no position).
func (p Position) IsZero() bool { return p.Offset == 0 && p.Epoch == "" }

// String formats p as "OFFSET@EPOCH".
func (p Position) String() string { return strconv.FormatUint(p.Offset, 10) + "@" + p.Epoch }

// Recovery is what a subscription made with SubscribeOptions.Since learned
// about its position, or what a live subscriber is told when messages it
// should have had are gone (Config.OnRecovery).
type Recovery struct {
	// Recovered is true when every message after Since was (or will be)
	// delivered, in order, before the live ones. False: the history no
	// longer covers it (too old, or its epoch differs, or the hub lost
	// messages it cannot replay, or a node delivered messages to its own
	// subscribers only while the broker was unreachable: see
	// HistoryEntry.Lost); the subscriber is still subscribed and receives
	// the messages after Position.
	Recovered bool
	// Position is the topic's position when the subscription took effect:
	// the last message delivered before live ones (Recovered) or the one
	// after which live messages start (not Recovered).
	Position Position
	// Replayed counts the messages delivered from history.
	Replayed int
}

// Errors about history and positions.
var (
	ErrInvalidUTF8    = errors.New("hub: text message is not valid UTF-8")
	ErrNoHistory      = errors.New("hub: topic has no history")
	ErrNotReplicated  = errors.New("hub: broker unreachable, message delivered on this node only")
	errRecoveryFailed = errors.New("hub: history changed while recovering")
)

// newEpoch returns a random epoch: 8 bytes, hex.
func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
