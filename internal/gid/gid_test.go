package gid

import (
	"runtime"
	"sync"
	"testing"
)

func TestIDStableWithinGoroutine(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("no assembly implementation on " + runtime.GOARCH)
	}
	a := ID()
	runtime.Gosched()
	growStack(64)
	if b := ID(); a != b || a == 0 {
		t.Fatalf("ID changed within one goroutine: %#x then %#x", a, b)
	}
}

func TestIDDiffersAcrossLiveGoroutines(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("no assembly implementation on " + runtime.GOARCH)
	}
	const n = 16
	ids := make([]uintptr, n)
	var ready, release sync.WaitGroup
	ready.Add(n)
	release.Add(1)
	for i := range n {
		go func() {
			ids[i] = ID()
			ready.Done()
			release.Wait() // keep every goroutine alive until all IDs are read
		}()
	}
	ready.Wait()
	seen := map[uintptr]bool{ID(): true}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate goroutine ID %#x among live goroutines", id)
		}
		seen[id] = true
	}
	release.Done()
}

func growStack(n int) int {
	var pad [256]byte
	pad[0] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return growStack(n-1) + int(pad[0])
}

func BenchmarkID(b *testing.B) {
	for b.Loop() {
		_ = ID()
	}
}
