//go:build race

package engine

// raceEnabled: load tests skip themselves under the race detector.
const raceEnabled = true
