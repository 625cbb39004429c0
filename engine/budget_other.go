//go:build !linux

package engine

// physicalMemory is not read on this platform.
func physicalMemory() int64 { return fallbackMemory }
