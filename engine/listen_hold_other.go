//go:build !linux

package engine

// holdPort: SO_REUSEADDR and SO_REUSEPORT do not let gnet's listeners bind
// beside a held socket everywhere alike (BSD semantics differ), so port 0 is
// picked and released, and a busy start retried (listen_port.go).
func holdPort(string, bool) (string, func(), error) { return "", nil, errNoHold }
