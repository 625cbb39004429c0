package engine

import (
	"net"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// holdPort binds a TCP socket to host:0 the way gnet will bind host (same
// family and IPV6_V6ONLY, see listenFamily) and never listens on it. It
// returns host:port with the port the kernel picked, and release, which
// closes the socket. While it is held:
//
//   - the kernel picks neither it for another bind to port 0 nor it as the
//     local port of a connect(), which skip ports taken by an explicit bind;
//   - a bind to the port conflicts, except gnet's own listeners, which pass
//     because of the option set here: SO_REUSEPORT when gnet binds with it
//     (reusePort; then only a same-user SO_REUSEPORT socket may join, the
//     case the guard in listen.go is for), else SO_REUSEADDR (which lets a
//     listener bind beside a socket that does not listen);
//   - not listening, it belongs to no SO_REUSEPORT group and is never
//     handed a connection.
func holdPort(host string, reusePort bool) (string, func(), error) {
	network, ta, err := listenFamily(net.JoinHostPort(host, "0"))
	if err != nil {
		return "", nil, err
	}
	if ta.Zone != "" {
		return "", nil, errNoHold // a scoped IPv6 address: pick and release
	}
	family, sa := unix.AF_INET6, unix.Sockaddr(&unix.SockaddrInet6{})
	if network == "tcp4" {
		s4 := &unix.SockaddrInet4{}
		copy(s4.Addr[:], ta.IP.To4())
		family, sa = unix.AF_INET, s4
	} else if ta.IP != nil {
		copy(sa.(*unix.SockaddrInet6).Addr[:], ta.IP.To16())
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return "", nil, err
	}
	opt := unix.SO_REUSEADDR
	if reusePort {
		opt = unix.SO_REUSEPORT
	}
	err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1)
	if err == nil && family == unix.AF_INET6 {
		v6only := 0
		if network == "tcp6" {
			v6only = 1
		}
		err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
	}
	if err == nil {
		err = unix.Bind(fd, sa)
	}
	var port int
	if err == nil {
		var got unix.Sockaddr
		if got, err = unix.Getsockname(fd); err == nil {
			switch g := got.(type) {
			case *unix.SockaddrInet4:
				port = g.Port
			case *unix.SockaddrInet6:
				port = g.Port
			}
		}
	}
	if err != nil || port == 0 {
		_ = unix.Close(fd)
		if err == nil {
			err = errNoHold
		}
		return "", nil, err
	}
	var once sync.Once
	return net.JoinHostPort(host, strconv.Itoa(port)), func() { once.Do(func() { _ = unix.Close(fd) }) }, nil
}
