package histo

import (
	"math"
	"testing"
	"time"
)

func TestIndexMonotoneAndBounds(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<22; v += 7 {
		i := index(v)
		if i < prev {
			t.Fatalf("index(%d)=%d < %d", v, i, prev)
		}
		prev = i
		lo, w := lower(i)
		if v < lo || v >= lo+w {
			t.Fatalf("v=%d not in bucket %d [%d,%d)", v, i, lo, lo+w)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h H
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.99} {
		got := float64(h.Quantile(q))
		want := q * 10000 * 1000
		if math.Abs(got-want)/want > 0.02 {
			t.Errorf("q%.2f = %v, want ~%v", q, time.Duration(got), time.Duration(want))
		}
	}
	var m H
	m.Merge(FromSnapshot(h.Snapshot()))
	if m.Count() != 10000 || m.Quantile(1) != 10*time.Millisecond {
		t.Fatalf("merge: n=%d max=%v", m.Count(), m.Quantile(1))
	}
}
