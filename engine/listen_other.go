//go:build !linux

package engine

import "net"

// foreignListener cannot list other processes' sockets here: only the probe
// before gnet's bind guards the address.
func foreignListener(string, *net.TCPAddr) (bool, error) { return false, nil }

// anyListener: unknown here, so the probe's answer stands.
func anyListener(string, *net.TCPAddr) (found, known bool) { return false, false }
