package engine

import "testing"

// TestTLSCache checks the per-loop cipher cache: an entry stays while
// its connection has traffic between sweeps, goes after a whole tick
// without, goes at close, and past tlsCacheMax connections share the
// spare entry; once every entry went, the cache holds nothing.
func TestTLSCache(t *testing.T) {
	var l loop
	conns := make([]Conn, tlsCacheMax+2)
	for i := range conns {
		conns[i].id = uint64(i + 1)
	}
	for i := range conns[:tlsCacheMax] {
		if e := l.tlsCiphers(&conns[i]); e.id != conns[i].id || e == &l.tlsCache.spare {
			t.Fatalf("conn %d: entry %d", i, e.id)
		}
	}
	if e := l.tlsCiphers(&conns[tlsCacheMax]); e != &l.tlsCache.spare {
		t.Fatal("past tlsCacheMax: not the spare entry")
	}
	a, b := &conns[0], &conns[1]
	ea := l.tlsCiphers(a)
	if l.tlsCiphers(a) != ea {
		t.Fatal("a second lookup found another entry")
	}
	l.tlsSweep() // every entry was used since the start: all stay
	if got := len(l.tlsCache.live); got != tlsCacheMax {
		t.Fatalf("after the first sweep %d entries", got)
	}
	l.tlsCiphers(a)
	l.tlsCiphers(b)
	l.tlsForget(b)
	l.tlsSweep() // a used, b closed, the rest idle
	if got := len(l.tlsCache.live); got != 1 || l.tlsCache.byID[a.id] != ea || len(l.tlsCache.byID) != 1 {
		t.Fatalf("after the second sweep: %d live, %d by ID", got, len(l.tlsCache.byID))
	}
	if e := l.tlsCiphers(b); e.id != b.id || e == &l.tlsCache.spare {
		t.Fatal("room was not made")
	}
	l.tlsSweep()
	l.tlsSweep()
	if l.tlsCache.byID != nil || l.tlsCache.live != nil || l.tlsCache.free != nil {
		t.Fatal("an idle loop keeps a cache")
	}
}
