//go:build race

package pmd

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts that rely on the pool are not exact under -race.
const raceEnabled = true
