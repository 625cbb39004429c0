package engine

import (
	"sync"
	"sync/atomic"

	"github.com/switchboard-ws/switchboard/codec"
)

// rejectReason classifies refused connections and handshakes.
type rejectReason uint8

const (
	rejectCapacity         rejectReason = iota // at the connection ceiling (503)
	rejectShutdown                             // server shutting down (503)
	rejectHeadTooLarge                         // request head over the limit (431)
	rejectMalformed                            // not parseable HTTP (400/505)
	rejectInvalid                              // not a valid WebSocket upgrade (400/405/426)
	rejectNotUpgrade                           // plain HTTP request, answered and closed
	rejectOrigin                               // Origin not allowed (403)
	rejectHook                                 // refused by the upgrade hook
	rejectHandshakeTimeout                     // request not complete in time
	rejectPerIP                                // MaxConnsPerIP reached (429)
	rejectHandshakeRate                        // MaxHandshakesPerSecond reached (503)
	rejectPendingUpgrades                      // MaxPendingUpgrades reached (503)
	rejectTLSHandshakes                        // MaxTLSHandshakes reached (closed)
	rejectTLS                                  // TLS handshake failed or not TLS (plain HTTP gets 400)
	numRejectReasons
)

var rejectNames = [numRejectReasons]string{
	"capacity", "shutdown", "head_too_large", "malformed", "invalid_upgrade",
	"not_upgrade", "origin", "hook", "handshake_timeout", "per_ip", "handshake_rate", "pending_upgrades",
	"tls_handshakes", "tls",
}

func (r rejectReason) String() string { return rejectNames[r] }

// loopStats are counters kept per loop (so loops never contend on them) and
// summed by Server.Stats.
type loopStats struct {
	accepted    atomic.Uint64
	messagesIn  atomic.Uint64
	messagesOut atomic.Uint64
	bytesIn     atomic.Uint64
	bytesOut    atomic.Uint64
	dropped     atomic.Uint64
	rateLimited atomic.Uint64
	// budgetRefused counts connections closed because the next bytes of
	// their message would pass Config.InboundBudget.
	budgetRefused atomic.Uint64
	// permessage-deflate: messages inflated and their bytes before
	// (compressed) and after; messages deflated and their bytes before
	// (plain) and after; messages that inflated past MaxMessageSize.
	inflated, inflatedIn, inflatedOut atomic.Uint64
	deflated, deflatedIn, deflatedOut atomic.Uint64
	inflateTooBig                     atomic.Uint64
	// TLS bytes (records) in and out after the handshake, KeyUpdates
	// received, connections ended by a TLS alert or record error.
	tlsIn, tlsOut, tlsKeyUpdates, tlsAlerts atomic.Uint64
	rejects                                 [numRejectReasons]atomic.Uint64
	closes                                  [16]atomic.Uint64 // codes 1000..1015
	causes                                  [numCloseCauses]atomic.Uint64
	closesMu                                sync.Mutex
	closesOther                             map[codec.CloseCode]uint64 // application codes, rare
	_                                       [64]byte                   // keep loops' counters off one cache line
}

func (s *loopStats) reject(r rejectReason) { s.rejects[r].Add(1) }

func (s *loopStats) close(code codec.CloseCode) {
	if code >= 1000 && code < 1016 {
		s.closes[code-1000].Add(1)
		return
	}
	s.closesMu.Lock()
	if s.closesOther == nil {
		s.closesOther = make(map[codec.CloseCode]uint64)
	}
	s.closesOther[code]++
	s.closesMu.Unlock()
}

// Stats is a snapshot of the server's counters.
type Stats struct {
	Open        int64             // connections open now (handshaking ones included)
	MaxConns    int               // the connection ceiling in force
	Accepted    uint64            // upgrades completed
	Rejected    map[string]uint64 // refused connections/handshakes by reason
	MessagesIn  uint64            // data messages received
	MessagesOut uint64            // frames written
	BytesIn     uint64            // payload bytes received
	BytesOut    uint64            // bytes written (frames, headers included)
	Dropped     uint64            // outbound messages dropped by PolicyDrop
	RateLimited uint64            // inbound messages over the rate limits
	Closes      map[codec.CloseCode]uint64
	// CloseCauses counts closed connections by why they closed: "peer",
	// "application", "connection_lost", "protocol", "message_too_big",
	// "inbound_budget", "rate_limit", "outbound_full", "write_stall",
	// "pong_timeout", "idle_timeout", "close_timeout", "shutdown",
	// "handler_panic". Causes that never happened are absent.
	CloseCauses map[string]uint64
	// InboundBuffered is the payload bytes held now in data messages still
	// in progress, server-wide; InboundBufferedPeak the most held at once.
	// Both stay within InboundBudget (Config.InboundBudget).
	InboundBuffered     int64
	InboundBufferedPeak int64
	InboundBudget       int64
	// BudgetRefused counts connections closed with 1013 because their
	// message's next bytes would have passed InboundBudget.
	BudgetRefused uint64
	// PendingUpgrades is the handshakes waiting now for a deferred upgrade
	// decision (UpgradeRequest.Defer), at most Config.MaxPendingUpgrades.
	PendingUpgrades int64
	// Deflate counts permessage-deflate work (all zero when Config.Deflate
	// is off).
	Deflate DeflateStats
	// TLS counts the TLS layer's work (all zero without Config.TLS).
	TLS TLSStats
}

// DeflateStats counts permessage-deflate work. MessagesIn and BytesIn of
// Stats (and the inbound rate limits) count inflated messages by their
// inflated size; BytesOut counts bytes written, compressed ones as sent.
type DeflateStats struct {
	Inflated         uint64 // compressed messages received
	InflatedBytesIn  uint64 // their payload bytes as received (compressed)
	InflatedBytesOut uint64 // their bytes after inflation
	Deflated         uint64 // messages sent compressed
	DeflatedBytesIn  uint64 // their bytes before compression
	DeflatedBytesOut uint64 // their payload bytes as sent (compressed)
	// TooBig counts connections closed with 1009 because a message
	// inflated past MaxMessageSize (a decompression bomb, or just large).
	TooBig uint64
}

// Stats returns the server's counters, summed over its loops.
func (s *Server) Stats() Stats {
	b := s.decCfg.Budget
	st := Stats{
		Open:                s.live.Load(),
		MaxConns:            s.ceiling,
		Rejected:            make(map[string]uint64),
		Closes:              make(map[codec.CloseCode]uint64),
		CloseCauses:         make(map[string]uint64),
		InboundBuffered:     b.Used(),
		InboundBufferedPeak: b.Peak(),
		InboundBudget:       s.cfg.InboundBudget,
		PendingUpgrades:     s.pendingUpgrades.Load(),
	}
	for _, ls := range s.allStats() {
		st.Accepted += ls.accepted.Load()
		st.MessagesIn += ls.messagesIn.Load()
		st.MessagesOut += ls.messagesOut.Load()
		st.BytesIn += ls.bytesIn.Load()
		st.BytesOut += ls.bytesOut.Load()
		st.Dropped += ls.dropped.Load()
		st.RateLimited += ls.rateLimited.Load()
		st.BudgetRefused += ls.budgetRefused.Load()
		st.Deflate.Inflated += ls.inflated.Load()
		st.Deflate.InflatedBytesIn += ls.inflatedIn.Load()
		st.Deflate.InflatedBytesOut += ls.inflatedOut.Load()
		st.Deflate.Deflated += ls.deflated.Load()
		st.Deflate.DeflatedBytesIn += ls.deflatedIn.Load()
		st.Deflate.DeflatedBytesOut += ls.deflatedOut.Load()
		st.Deflate.TooBig += ls.inflateTooBig.Load()
		st.TLS.BytesIn += ls.tlsIn.Load()
		st.TLS.BytesOut += ls.tlsOut.Load()
		st.TLS.KeyUpdates += ls.tlsKeyUpdates.Load()
		st.TLS.Alerts += ls.tlsAlerts.Load()
		for i := range ls.rejects {
			if n := ls.rejects[i].Load(); n > 0 {
				st.Rejected[rejectReason(i).String()] += n
			}
		}
		for i := range ls.closes {
			if n := ls.closes[i].Load(); n > 0 {
				st.Closes[codec.CloseCode(1000+i)] += n
			}
		}
		for i := range ls.causes {
			if n := ls.causes[i].Load(); n > 0 {
				st.CloseCauses[closeCause(i).String()] += n
			}
		}
		ls.closesMu.Lock()
		for code, n := range ls.closesOther {
			st.Closes[code] += n
		}
		ls.closesMu.Unlock()
	}
	if ts := s.tls; ts != nil {
		st.TLS.HandshakesInProgress = ts.active.Load()
		st.TLS.HandshakesQueued = ts.queued.Load()
		st.TLS.HandshakesCompleted = ts.completed.Load()
		st.TLS.HandshakesFailed = ts.failed.Load()
		st.TLS.TLS13 = ts.v13.Load()
		st.TLS.TLS12 = ts.v12.Load()
	}
	return st
}

// allStats lists the counters to sum: each loop's, and those of handshakes
// refused on the net/http path (Server.UpgradeHTTP), which no loop saw.
func (s *Server) allStats() []*loopStats {
	loops := s.loopList()
	all := make([]*loopStats, 0, len(loops)+1)
	for _, l := range loops {
		all = append(all, &l.stats)
	}
	return append(all, &s.mount.stats)
}
