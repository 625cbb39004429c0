//go:build race

package interop_test

func init() { raceEnabled = true }
