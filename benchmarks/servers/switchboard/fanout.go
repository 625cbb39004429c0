package main

import (
	"sync"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// fanout relays a message to every connection with the engine alone: the
// frame is encoded once (codec.NewPreparedFrame) and each event loop gets
// one task that writes it to the connections it serves.
//
// With permessage-deflate it does what package hub does (compressShared in
// hub/publish.go): the payload is compressed once, without a dictionary,
// within the server's shared window (Loop.SharedDeflateBits), into a
// second prepared frame with RSV1, written to every connection that takes
// it (Conn.SharedDeflate); the others get the plain frame. Package hub's plan is the same (encode once, one
// hand-off per loop); this file keeps the benchmark's broadcast path what
// it was when the uncompressed figures were taken. The handlers in main.go
// call only join, leave and publish.
type fanout struct {
	// threshold is the server's DeflateThreshold when it negotiates
	// permessage-deflate, 0 when it does not.
	threshold int

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

func newFanout(threshold int) *fanout {
	return &fanout{threshold: threshold, loops: make(map[engine.Loop]*loopSet)}
}

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
	var zframe *codec.PreparedFrame
	if f.threshold > 0 && len(payload) >= f.threshold && len(list) > 0 {
		l := list[0].loop // one server: the same window and level on every loop
		bits := l.SharedDeflateBits()
		if z := pmd.DeflateWithin(nil, payload, nil, bits, l.DeflateLevel()); len(z) < len(payload) {
			zframe = codec.NewPreparedFrameDeflate(codec.OpBinary, z, bits)
		}
	}
	var here *loopSet
	for _, s := range list {
		if s.loop.OnLoop() {
			here = s // write to our own loop's connections last, inline
			continue
		}
		s := s
		_ = s.loop.Execute(func() { s.writeAll(frame, zframe) })
	}
	if here != nil {
		here.writeAll(frame, zframe)
	}
}

// writeAll writes zframe (when not nil) to the connections that take a
// shared compressed frame, frame to the others.
func (s *loopSet) writeAll(frame, zframe *codec.PreparedFrame) {
	for c := range s.conns {
		if zframe != nil && c.SharedDeflate() {
			_ = c.WritePrepared(zframe)
			continue
		}
		_ = c.WritePrepared(frame)
	}
}
