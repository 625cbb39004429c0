//go:build !race

package pmd

const raceEnabled = false
