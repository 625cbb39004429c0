//go:build race

package client

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation figures are only checked without it (make test's load step).
const raceEnabled = true
