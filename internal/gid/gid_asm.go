//go:build amd64 || arm64

package gid

// ID returns the address of the runtime's descriptor of the calling
// goroutine. It is stable for the goroutine's life and unique among live
// goroutines; it may be reused after the goroutine exits.
func ID() uintptr
