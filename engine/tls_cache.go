package engine

import "github.com/switchboard-ws/switchboard/internal/tlsrec"

// The expanded ciphers (AEADs) of TLS 1.3 connections are not kept per
// connection: each loop keeps those of the connections that had traffic
// recently, up to tlsCacheMax, and drops those unused for a whole tick
// (TickInterval), so an idle connection keeps none. A connection without
// an entry builds its AEADs from the key and IV its tlsrec.Direction keeps
// (no HKDF: the AES key schedule and GCM tables, about 1.3 KB each way).

// tlsCacheMax bounds the connections per loop whose expanded ciphers are
// kept between events. Past it, a connection's ciphers are rebuilt on
// each event (the spare entry).
const tlsCacheMax = 1024

// A connection with an entry points at it (tlsConn.ce) and the entry at
// the connection: the lookup on every event is one pointer, no map. The
// link is cut from both ends at once (tlsUnlink), so a connection never
// points at an entry another connection holds.
type tlsCacheEntry struct {
	c       *Conn // the owner; nil when free
	used    bool  // since the last sweep
	in, out tlsrec.Cipher
}

// tlsCache is a loop's expanded ciphers.
type tlsCache struct {
	live  []*tlsCacheEntry // every entry given out (and closed ones until the sweep)
	free  []*tlsCacheEntry // emptied entries for reuse, until the cache empties
	spare tlsCacheEntry    // for connections past tlsCacheMax
}

// tlsCiphers returns c's cache entry, empty when c had none.
func (l *loop) tlsCiphers(c *Conn) *tlsCacheEntry {
	t := c.tlsState()
	if e := t.ce; e != nil {
		e.used = true
		return e
	}
	k := &l.tlsCache
	var e *tlsCacheEntry
	switch n := len(k.free); {
	case len(k.live) >= tlsCacheMax:
		e = &k.spare
		tlsUnlink(e)
	case n > 0:
		e, k.free[n-1] = k.free[n-1], nil
		k.free = k.free[:n-1]
		k.live = append(k.live, e)
	default:
		e = new(tlsCacheEntry)
		k.live = append(k.live, e)
	}
	e.c, e.used = c, true
	t.ce = e
	return e
}

// tlsUnlink empties e and cuts the link between e and its connection.
func tlsUnlink(e *tlsCacheEntry) {
	if e.c != nil {
		e.c.tlsState().ce = nil
		e.c = nil
	}
	e.used = false
	e.in.Reset()
	e.out.Reset()
}

// tlsForget drops c's expanded ciphers (c has closed); the entry leaves
// live at the next sweep.
func (l *loop) tlsForget(c *Conn) {
	if e := c.tlsState().ce; e != nil {
		tlsUnlink(e)
	}
}

// tlsSweep runs on every tick: it drops the ciphers of connections that
// had no traffic since the previous sweep. Once none is left, the slices
// go too.
func (l *loop) tlsSweep() {
	k := &l.tlsCache
	tlsUnlink(&k.spare)
	if len(k.live) == 0 {
		return
	}
	k.live = keepUsed(k.live, func(e *tlsCacheEntry) *bool { return &e.used }, func(e *tlsCacheEntry) {
		tlsUnlink(e)
		if len(k.free) < tlsCacheMax {
			k.free = append(k.free, e)
		}
	})
	if k.live == nil {
		*k = tlsCache{}
	}
}
