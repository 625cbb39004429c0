package engine

// keepUsed is the second-chance sweep run on a tick over a loop's or the
// server's reusable entries: it keeps, in order, those marked used since
// the previous sweep (clearing the mark), hands every other one to drop,
// and returns the kept prefix, nil when none is left (so an idle server
// keeps no slice either).
func keepUsed[T any](s []T, used func(T) *bool, drop func(T)) []T {
	j := 0
	for _, e := range s {
		if u := used(e); *u {
			*u = false
			s[j] = e
			j++
			continue
		}
		drop(e)
	}
	clear(s[j:])
	if j == 0 {
		return nil
	}
	return s[:j]
}
