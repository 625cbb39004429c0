package engine

import "testing"

// TestTLSCache checks the per-loop cipher cache: an entry stays while
// its connection has traffic between sweeps, goes after a whole tick
// without, goes at close, and past tlsCacheMax connections share the
// spare entry; a connection and its entry always point at each other;
// once every entry went, the cache holds nothing.
func TestTLSCache(t *testing.T) {
	var l loop
	boxes := make([]tlsBox, tlsCacheMax+2)
	conns := make([]*Conn, len(boxes))
	for i := range boxes {
		c := &boxes[i].c
		c.id, c.flags = uint64(i+1), flagTLS
		conns[i] = c
	}
	linked := func(c *Conn, e *tlsCacheEntry) bool { return c.tlsState().ce == e && e.c == c }
	for i, c := range conns[:tlsCacheMax] {
		if e := l.tlsCiphers(c); !linked(c, e) || e == &l.tlsCache.spare {
			t.Fatalf("conn %d: not linked to an entry of its own", i)
		}
	}
	x, y := conns[tlsCacheMax], conns[tlsCacheMax+1]
	if e := l.tlsCiphers(x); e != &l.tlsCache.spare || !linked(x, e) {
		t.Fatal("past tlsCacheMax: not the spare entry")
	}
	if e := l.tlsCiphers(y); e != &l.tlsCache.spare || !linked(y, e) || x.tlsState().ce != nil {
		t.Fatal("the spare entry changed hands without unlinking its previous owner")
	}
	a, b := conns[0], conns[1]
	ea := l.tlsCiphers(a)
	if l.tlsCiphers(a) != ea {
		t.Fatal("a second lookup found another entry")
	}
	l.tlsSweep() // every entry was used since the start: all stay
	if got := len(l.tlsCache.live); got != tlsCacheMax {
		t.Fatalf("after the first sweep %d entries", got)
	}
	if y.tlsState().ce != nil {
		t.Fatal("the sweep left the spare entry linked")
	}
	l.tlsCiphers(a)
	eb := l.tlsCiphers(b)
	l.tlsForget(b)
	if b.tlsState().ce != nil || eb.c != nil {
		t.Fatal("forget left a link")
	}
	l.tlsSweep() // a used, b closed, the rest idle
	if got := len(l.tlsCache.live); got != 1 || l.tlsCache.live[0] != ea || !linked(a, ea) {
		t.Fatalf("after the second sweep: %d live", got)
	}
	for _, c := range conns[2:] {
		if c.tlsState().ce != nil {
			t.Fatal("an idle connection still points at an entry")
		}
	}
	if e := l.tlsCiphers(b); !linked(b, e) || e == &l.tlsCache.spare {
		t.Fatal("room was not made")
	}
	l.tlsSweep()
	l.tlsSweep()
	if l.tlsCache.live != nil || l.tlsCache.free != nil || a.tlsState().ce != nil || b.tlsState().ce != nil {
		t.Fatal("an idle loop keeps a cache")
	}
}
