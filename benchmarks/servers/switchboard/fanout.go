package main

import (
	"sync"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// fanout relays a message to every connection with the engine alone: the
// frame is encoded once (codec.NewPreparedFrame) and each event loop gets
// one task that writes it to the connections it serves.
//
// When package hub lands, this file is what it replaces: join becomes a
// subscribe to one topic and publish a hub.Publish of the payload (the same
// encode-once, one-hand-off-per-loop plan). The handlers in main.go call
// only join, leave and publish.
type fanout struct {
	mu    sync.Mutex
	loops map[engine.Loop]*loopSet
	list  []*loopSet // snapshot for publish, replaced when a loop is added
}

// loopSet holds the connections of one loop; it is touched only on that
// loop (OnOpen, OnClose and the publish task all run there).
type loopSet struct {
	loop  engine.Loop
	conns map[*engine.Conn]struct{}
}

func newFanout() *fanout { return &fanout{loops: make(map[engine.Loop]*loopSet)} }

func (f *fanout) set(l engine.Loop) *loopSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.loops[l]
	if s == nil {
		s = &loopSet{loop: l, conns: make(map[*engine.Conn]struct{})}
		f.loops[l] = s
		f.list = append(append([]*loopSet(nil), f.list...), s)
	}
	return s
}

func (f *fanout) join(c *engine.Conn)  { f.set(c.Loop()).conns[c] = struct{}{} }
func (f *fanout) leave(c *engine.Conn) { delete(f.set(c.Loop()).conns, c) }

func (f *fanout) publish(payload []byte) {
	frame := codec.NewPreparedFrame(codec.OpBinary, payload)
	f.mu.Lock()
	list := f.list
	f.mu.Unlock()
	var here *loopSet
	for _, s := range list {
		if s.loop.OnLoop() {
			here = s // write to our own loop's connections last, inline
			continue
		}
		s := s
		_ = s.loop.Execute(func() { s.writeAll(frame) })
	}
	if here != nil {
		here.writeAll(frame)
	}
}

func (s *loopSet) writeAll(frame *codec.PreparedFrame) {
	for c := range s.conns {
		_ = c.WritePrepared(frame)
	}
}
