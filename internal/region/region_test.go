package region

import (
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// resident counts the pages of b the kernel holds in memory (mincore).
func resident(t *testing.T, b []byte) int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("mincore check on linux only")
	}
	if len(b) == 0 {
		return 0
	}
	vec := make([]byte, (len(b)+pageSize-1)/pageSize)
	_, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

func TestRegionCommitsAsWritten(t *testing.T) {
	p := For(16 << 20)
	if p == nil {
		t.Skip("regions not supported here")
	}
	defer SetRetain(SetRetain(0))
	tests := []struct {
		name    string
		write   int
		retain  int64
		wantIn  int // resident pages while in use
		wantOut int // resident pages after Put
	}{
		{"nothing written", 0, 0, 0, 0},
		{"1 MiB written, none retained", 1 << 20, 0, 256, 0},
		{"1 MiB - 1 written, none retained", 1<<20 - 1, 0, 256, 0},
		{"3 MiB written, 1 MiB retained", 3 << 20, 1 << 20, 768, 256},
		{"whole region, all retained", 16 << 20, 64 << 20, 4096, 4096},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			SetRetain(tc.retain)
			b := p.Get(16 << 20)
			if b == nil || len(b) != 0 || cap(b) != 16<<20 {
				t.Fatalf("Get: len %d cap %d", len(b), cap(b))
			}
			whole := b[:cap(b)]
			for i := 0; i < tc.write; i++ {
				b = append(b, byte(i))
			}
			// A region reused from an earlier test may still hold pages it
			// retained; count only what this test wrote.
			if got := resident(t, whole[:roundUp(tc.write)]); got != tc.wantIn {
				t.Fatalf("in use: %d pages resident, want %d", got, tc.wantIn)
			}
			p.Put(b)
			if got := resident(t, whole); got != tc.wantOut {
				t.Fatalf("after Put: %d pages resident, want %d", got, tc.wantOut)
			}
			// Drain: take it back out and release everything.
			SetRetain(0)
			r := p.Get(1)
			p.Put(r)
			if got := resident(t, whole); got != 0 {
				t.Fatalf("after release: %d pages resident", got)
			}
		})
	}
}

func TestRegionReuseAndStats(t *testing.T) {
	p := For(1 << 20)
	if p == nil {
		t.Skip("regions not supported here")
	}
	defer SetRetain(SetRetain(DefaultRetain))
	if p.Get(1<<20+1) != nil {
		t.Fatal("Get larger than the region size returned a region")
	}
	a := p.Get(100)
	a = append(a, "hello"...)
	p.Put(a)
	b := p.Get(100)
	if unsafe.SliceData(b[:1]) != unsafe.SliceData(a[:1]) {
		t.Fatal("a released region was not reused")
	}
	st := ReadStats()
	if st.Mapped < 1<<20 || st.Retained != 0 {
		t.Fatalf("stats while in use: %+v", st)
	}
	p.Put(b)
	if st := ReadStats(); st.Retained != int64(pageSize) {
		t.Fatalf("retained after Put: %+v, want one page", st)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Put of a foreign buffer did not panic")
			}
		}()
		p.Put(make([]byte, 0, 1<<20))
	}()
}

func TestForRoundsToPages(t *testing.T) {
	p := For(1000)
	if p == nil {
		t.Skip("regions not supported here")
	}
	if p.Size() != pageSize || For(pageSize) != p {
		t.Fatalf("size %d, want one page shared", p.Size())
	}
	if For(0) != nil || For(-1) != nil {
		t.Fatal("For of a non-positive size")
	}
}

func TestTrimReleasesIdleRegions(t *testing.T) {
	p := For(2 << 20)
	if p == nil {
		t.Skip("regions not supported here")
	}
	defer SetRetain(SetRetain(DefaultRetain))
	b := p.Get(1)
	whole := b[:cap(b)]
	b = append(b, make([]byte, 1<<20)...)
	for i := range b {
		b[i] = 1
	}
	p.Put(b)
	if got := resident(t, whole); got != 256 {
		t.Fatalf("retained after Put: %d pages", got)
	}
	Trim(time.Hour) // nothing that old
	if got := resident(t, whole); got != 256 {
		t.Fatalf("Trim released a region used just now: %d pages left", got)
	}
	time.Sleep(10 * time.Millisecond)
	Trim(time.Millisecond)
	if got := resident(t, whole); got != 0 {
		t.Fatalf("after Trim: %d pages resident", got)
	}
	if st := ReadStats(); st.Retained != 0 {
		t.Fatalf("retained %d after Trim", st.Retained)
	}
	// The region is still there to reuse.
	if r := p.Get(1); unsafe.SliceData(r[:1]) != unsafe.SliceData(whole) {
		t.Fatal("trimmed region not reused")
	} else {
		p.Put(r)
	}
}

func TestForLimit(t *testing.T) {
	for _, tc := range []struct {
		limit, small int64
		want         bool
	}{
		{64 << 10, 64 << 10, false}, {1 << 20, 64 << 10, true}, {0, 64 << 10, false}, {1 << 40, 64 << 10, true},
	} {
		p := ForLimit(tc.limit, tc.small)
		if (p != nil) != (tc.want && supported) {
			t.Errorf("ForLimit(%d, %d) = %v", tc.limit, tc.small, p)
		}
		if p != nil && int64(p.Size()) < tc.limit {
			t.Errorf("ForLimit(%d): regions of %d bytes", tc.limit, p.Size())
		}
	}
}
