//go:build !linux

package engine

import "errors"

// pump is the write poller; on this platform there is none, and large
// writes go through gnet's outbound buffer like the others.
type pump struct{}

var errAgain = errors.New("engine: would block")

func newPump() *pump { return nil }

func (p *pump) arm(*Conn, bool) error { return errors.New("engine: no write poller") }
func (p *pump) disarm(*Conn)          {}
func (p *pump) close()                {}

func writeSocketv(int, [][]byte) (int, error) { return 0, errors.New("engine: no direct writes") }

func readSocket(int, []byte) (int, error) { return 0, errors.New("engine: no direct reads") }
