package jsondoc

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/switchboard-ws/switchboard/internal/pmd"
)

func TestDoc(t *testing.T) {
	for _, tc := range []struct {
		size       int
		minZ, maxZ float64 // bounds of the compression ratio at level 1
		prefixLen  int
	}{
		{1024, 1.8, 8, 0},
		{1024, 1.8, 8, 5},
		{4096, 2.5, 8, 13},
		{16384, 2.5, 8, 5},
		{512, 1.5, 8, 0},
		{200, 0, 8, 0},
		{11, -1, 8, 0},
	} {
		prefix := bytes.Repeat([]byte{'e'}, tc.prefixLen)
		d := Doc(prefix, tc.size, 7)
		if len(d) != tc.prefixLen+tc.size {
			t.Fatalf("size %d: got %d bytes", tc.size, len(d)-tc.prefixLen)
		}
		if !bytes.Equal(d[:tc.prefixLen], prefix) {
			t.Fatalf("size %d: prefix changed", tc.size)
		}
		var v map[string]any
		if err := json.Unmarshal(d[tc.prefixLen:], &v); err != nil {
			t.Fatalf("size %d: not JSON: %v\n%s", tc.size, err, d[tc.prefixLen:])
		}
		if !bytes.Equal(d, Doc(prefix, tc.size, 7)) {
			t.Fatalf("size %d: not deterministic", tc.size)
		}
		if tc.minZ >= 0 && bytes.Equal(d, Doc(prefix, tc.size, 8)) {
			t.Fatalf("size %d: seed changes nothing", tc.size)
		}
		if tc.size < 64 {
			continue
		}
		ratio := float64(tc.size) / float64(len(pmd.Deflate(nil, d[tc.prefixLen:], nil)))
		if ratio < tc.minZ || ratio > tc.maxZ {
			t.Errorf("size %d: compresses %.2f×, want %.1f–%.1f×", tc.size, ratio, tc.minZ, tc.maxZ)
		}
		t.Logf("size %d: compresses %.2f×", tc.size, ratio)
	}
}
