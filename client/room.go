package client

import (
	"encoding/json"
	"net/url"
	"strconv"
	"sync"
)

// RoomTracker resumes rooms after a reconnect for servers that speak the
// broadcast example's protocol: a connection joins one room by URL
// (GET /ws?room=R), each room message carries its position
// ({"offset":N,"epoch":"E","data":...}), and a reconnect asks for what it
// missed with GET /ws?room=R&since=N&epoch=E. A server that cannot
// recover (the history moved past N, or the epoch changed) answers
// {"recovered":false,"epoch":"E2","offset":M}: the tracker then continues
// from there (the application learns of the gap from that message, which
// it still receives).
//
// Wrap the Handler with Handler and set Reconnect.URL to the tracker's URL
// method:
//
//	rt := client.NewRoomTracker()
//	d := client.Dialer{Reconnect: &client.Reconnect{URL: rt.URL}}
//	c, err := d.Dial(ctx, "ws://host/ws?room=lobby", rt.Handler(h))
//
// One tracker may serve many connections; it keeps one position per room.
// Messages that do not parse as JSON objects with those fields are passed
// on untouched. Safe for concurrent use.
type RoomTracker struct {
	mu    sync.Mutex
	rooms map[string]RoomPosition
}

// RoomPosition is where a room's stream stands: the offset of the last
// message received, in its epoch.
type RoomPosition struct {
	Offset int64
	Epoch  string
}

// NewRoomTracker returns an empty tracker.
func NewRoomTracker() *RoomTracker { return &RoomTracker{rooms: map[string]RoomPosition{}} }

// Position returns the last position seen in room.
func (t *RoomTracker) Position(room string) (RoomPosition, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.rooms[room]
	return p, ok
}

// roomMessage is the part of a message the tracker reads.
type roomMessage struct {
	Offset    *json.Number `json:"offset"`
	Epoch     *string      `json:"epoch"`
	Recovered *bool        `json:"recovered"`
}

// Observe records the position a message of room carries, if any, and
// reports whether it did.
func (t *RoomTracker) Observe(room string, msg []byte) bool {
	if len(msg) == 0 || msg[0] != '{' {
		return false
	}
	var m roomMessage
	if json.Unmarshal(msg, &m) != nil || m.Offset == nil || m.Epoch == nil {
		return false
	}
	off, err := strconv.ParseInt(string(*m.Offset), 10, 64)
	if err != nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, ok := t.rooms[room]
	if m.Recovered == nil && ok && cur.Epoch == *m.Epoch && off <= cur.Offset {
		return true // a duplicate or a replay of what we had: keep the furthest
	}
	t.rooms[room] = RoomPosition{Offset: off, Epoch: *m.Epoch}
	return true
}

// URL returns last with since and epoch set to the position of its room
// (the room query parameter), or last unchanged when the tracker has none.
// It has the shape of Reconnect.URL.
func (t *RoomTracker) URL(_ *Conn, last string) string {
	u, err := url.Parse(last)
	if err != nil {
		return last
	}
	q := u.Query()
	room := q.Get("room")
	p, ok := t.Position(room)
	if room == "" || !ok {
		return last
	}
	q.Set("since", strconv.FormatInt(p.Offset, 10))
	q.Set("epoch", p.Epoch)
	u.RawQuery = q.Encode()
	return u.String()
}

// Handler wraps h: every text message is observed for the room of the
// connection's URL before h sees it.
func (t *RoomTracker) Handler(h Handler) Handler { return &roomHandler{t: t, h: h} }

type roomHandler struct {
	t *RoomTracker
	h Handler
}

func (r *roomHandler) OnOpen(c *Conn) { r.h.OnOpen(c) }

func (r *roomHandler) OnMessage(c *Conn, typ MessageType, data []byte) {
	if typ == Text {
		if u, err := url.Parse(c.URL()); err == nil {
			r.t.Observe(u.Query().Get("room"), data)
		}
	}
	r.h.OnMessage(c, typ, data)
}

func (r *roomHandler) OnClose(c *Conn, err error) { r.h.OnClose(c, err) }
