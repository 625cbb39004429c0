//go:build !amd64 && !arm64

package gid

// ID returns 0 (unknown) where no assembly implementation exists.
func ID() uintptr { return 0 }
