// Package inbox is the queue through which other goroutines hand work to
// an event loop, shared by the server's loops (package engine) and the
// client's (package client).
//
// Put appends an item under a mutex and reports whether the loop must be
// woken: only the first item since the loop last drained the inbox wakes
// it, later ones ride along. Take, on the loop, swaps the queue with a
// spare slice (a double buffer: no allocation in steady state) and Done
// gives the drained batch back as the next spare.
package inbox
