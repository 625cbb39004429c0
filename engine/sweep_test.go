package engine

import (
	"slices"
	"testing"
)

func TestKeepUsed(t *testing.T) {
	type ent struct {
		n    int
		used bool
	}
	for _, tc := range []struct {
		name       string
		used       []bool
		kept, gone []int
	}{
		{"empty", nil, nil, nil},
		{"none used", []bool{false, false}, nil, []int{0, 1}},
		{"all used", []bool{true, true, true}, []int{0, 1, 2}, nil},
		{"mixed, order kept", []bool{false, true, false, true, true}, []int{1, 3, 4}, []int{0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s []*ent
			for i, u := range tc.used {
				s = append(s, &ent{i, u})
			}
			full := s[:len(s):len(s)]
			var gone []int
			got := keepUsed(s, func(e *ent) *bool { return &e.used }, func(e *ent) { gone = append(gone, e.n) })
			var kept []int
			for _, e := range got {
				kept = append(kept, e.n)
				if e.used {
					t.Errorf("entry %d still marked used", e.n)
				}
			}
			if !slices.Equal(kept, tc.kept) || !slices.Equal(gone, tc.gone) {
				t.Fatalf("kept %v dropped %v, want %v and %v", kept, gone, tc.kept, tc.gone)
			}
			if len(tc.kept) == 0 && got != nil {
				t.Fatal("nothing kept but the slice stays")
			}
			for i := len(got); i < len(full); i++ {
				if full[i] != nil {
					t.Fatalf("slot %d past the kept entries not cleared", i)
				}
			}
		})
	}
}
