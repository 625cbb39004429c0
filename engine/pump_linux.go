//go:build linux

package engine

import (
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// pump is the server's write poller: one epoll set, and one goroutine
// started with the first large write the socket could not take whole. It
// watches only the connections with a pending queue (EPOLLOUT, one shot)
// and hands each that turns writable back to its loop. Idle connections are
// never in it.
type pump struct {
	once  sync.Once
	epfd  int
	err   error
	stop  atomic.Bool
	done  chan struct{}
	mu    sync.Mutex
	conns map[int32]*Conn // by fd, while armed
}

var errAgain = unix.EAGAIN

func newPump() *pump { return &pump{conns: map[int32]*Conn{}, done: make(chan struct{})} }

func (p *pump) start() {
	p.epfd, p.err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if p.err != nil {
		close(p.done)
		return
	}
	go p.run()
}

// arm (re)registers c's fd for one writable event.
func (p *pump) arm(c *Conn, registered bool) error {
	p.once.Do(p.start)
	if p.err != nil {
		return p.err
	}
	if p.stop.Load() {
		return errors.New("engine: write poller stopped")
	}
	fd := c.gc.Fd()
	p.mu.Lock()
	p.conns[int32(fd)] = c
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLONESHOT, Fd: int32(fd)}
	if registered {
		if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev); err == nil {
			return nil
		}
	}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// disarm removes c's fd; called on c's loop before gnet closes the fd.
func (p *pump) disarm(c *Conn) {
	fd := c.gc.Fd()
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	p.mu.Lock()
	if p.conns[int32(fd)] == c {
		delete(p.conns, int32(fd))
	}
	p.mu.Unlock()
}

func (p *pump) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	for !p.stop.Load() {
		n, err := unix.EpollWait(p.epfd, events, 200)
		if err != nil && err != unix.EINTR {
			return
		}
		for i := range n {
			p.mu.Lock()
			c := p.conns[events[i].Fd]
			p.mu.Unlock()
			if c != nil {
				_ = c.loop.post(task{conn: c, kind: taskFlush}, 0)
			}
		}
	}
}

// close stops the goroutine (within its 200ms wait) and the epoll set.
func (p *pump) close() {
	p.stop.Store(true)
	p.once.Do(func() { close(p.done) })
	<-p.done
	if p.err == nil && p.epfd > 0 {
		_ = unix.Close(p.epfd)
	}
}

// writeSocketv writes iov to fd without blocking; errAgain when the socket
// takes nothing more.
func writeSocketv(fd int, iov [][]byte) (int, error) {
	for {
		n, err := unix.Writev(fd, iov)
		if err == unix.EINTR {
			continue
		}
		return max(n, 0), err
	}
}

// readSocket reads from fd without blocking: (0, nil) at end of stream,
// errAgain when nothing is there.
func readSocket(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		if err == unix.EINTR {
			continue
		}
		return max(n, 0), err
	}
}
