package hub

import (
	"net"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// startEpoll reads conns from a few locked OS threads, each with its own
// epoll set. The sockets stay owned by their net.Conns (closed by close);
// nothing else reads them.
func (r *fanReaders) startEpoll(conns []net.Conn) bool {
	threads := min(4, max(1, runtime.NumCPU()), len(conns))
	if threads == 0 {
		return false
	}
	eps := make([]int, threads)
	for i := range eps {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return false
		}
		eps[i] = ep
	}
	maxFD := 0
	for i, c := range conns {
		sc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			return false
		}
		var addErr error
		_ = sc.Control(func(fd uintptr) {
			maxFD = max(maxFD, int(fd))
			ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
			addErr = unix.EpollCtl(eps[i%threads], unix.EPOLL_CTL_ADD, int(fd), &ev)
		})
		if addErr != nil {
			return false
		}
	}
	for _, ep := range eps {
		r.wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			defer unix.Close(ep)
			var buf [64 << 10]byte
			events := make([]unix.EpollEvent, 512)
			pending := make([]int32, maxFD+1) // bytes of an incomplete frame, by fd
			for !r.stop.Load() {
				n, err := unix.EpollWait(ep, events, 100)
				if err != nil {
					if err == unix.EINTR {
						continue
					}
					r.readErr.Store(err.Error())
					return
				}
				for _, ev := range events[:n] {
					fd := int(ev.Fd)
					k, err := unix.Read(fd, buf[:])
					if k <= 0 {
						if err != unix.EAGAIN && !r.stop.Load() {
							r.readErr.Store("read: " + time.Now().String())
						}
						_ = unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, fd, nil)
						continue
					}
					p := int(pending[fd]) + k
					m := int64(p / fanFrame)
					pending[fd] = int32(p % fanFrame)
					if m > 0 {
						r.got(m)
					}
				}
			}
		})
	}
	return true
}
