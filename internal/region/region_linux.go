//go:build linux

package region

import "syscall"

const supported = true

var pageSize = syscall.Getpagesize()

// mapRegion reserves size bytes of address space; the kernel commits a
// page on its first write.
func mapRegion(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
}

// release hands b's pages back to the kernel at once; the mapping stays
// and reads zeros until written again.
func release(b []byte) {
	if len(b) > 0 {
		_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}
