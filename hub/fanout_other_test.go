//go:build !linux

package hub

import "net"

func (r *fanReaders) startEpoll([]net.Conn) bool { return false }
