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

type tlsCacheEntry struct {
	id      uint64
	used    bool // since the last sweep
	in, out tlsrec.Cipher
}

// tlsCache is a loop's expanded ciphers, by connection ID.
type tlsCache struct {
	byID  map[uint64]*tlsCacheEntry
	live  []*tlsCacheEntry // every entry of byID (and closed ones until the sweep)
	free  []*tlsCacheEntry // emptied entries for reuse, until the cache empties
	spare tlsCacheEntry    // for connections past tlsCacheMax
}

// tlsCiphers returns c's cache entry, empty when c had none.
func (l *loop) tlsCiphers(c *Conn) *tlsCacheEntry {
	k := &l.tlsCache
	if e := k.byID[c.id]; e != nil {
		e.used = true
		return e
	}
	if len(k.live) >= tlsCacheMax {
		e := &k.spare
		if e.id != c.id {
			e.in.Reset()
			e.out.Reset()
			e.id = c.id
		}
		return e
	}
	if k.byID == nil {
		k.byID = make(map[uint64]*tlsCacheEntry)
	}
	var e *tlsCacheEntry
	if n := len(k.free); n > 0 {
		e, k.free[n-1] = k.free[n-1], nil
		k.free = k.free[:n-1]
	} else {
		e = new(tlsCacheEntry)
	}
	e.id, e.used = c.id, true
	k.byID[c.id] = e
	k.live = append(k.live, e)
	return e
}

// tlsForget drops c's expanded ciphers (c has closed).
func (l *loop) tlsForget(c *Conn) {
	k := &l.tlsCache
	if e := k.byID[c.id]; e != nil {
		delete(k.byID, c.id)
		e.in.Reset()
		e.out.Reset()
		e.id, e.used = 0, false // the sweep takes it out of live
	}
	if k.spare.id == c.id {
		k.spare = tlsCacheEntry{}
	}
}

// tlsSweep runs on every tick: it drops the ciphers of connections that
// had no traffic since the previous sweep. Once none is left, the map and
// slices go too (a Go map never shrinks).
func (l *loop) tlsSweep() {
	k := &l.tlsCache
	if len(k.live) == 0 {
		return
	}
	j := 0
	for _, e := range k.live {
		if e.used {
			e.used = false
			k.live[j] = e
			j++
			continue
		}
		if e.id != 0 {
			delete(k.byID, e.id)
			e.id = 0
		}
		e.in.Reset()
		e.out.Reset()
		if len(k.free) < tlsCacheMax {
			k.free = append(k.free, e)
		}
	}
	clear(k.live[j:])
	k.live = k.live[:j]
	k.spare = tlsCacheEntry{}
	if j == 0 {
		*k = tlsCache{}
	}
}
