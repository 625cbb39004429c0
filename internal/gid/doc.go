// Package gid identifies the calling goroutine cheaply, so the engine can tell
// whether code runs on a connection's own event loop (write straight to the
// socket) or on some other goroutine (hand the write to the loop).
//
// ID returns an opaque, non-zero identity of the current goroutine on
// architectures with an assembly implementation and 0 elsewhere; callers
// treat 0 as "unknown" and take the safe path.
package gid
