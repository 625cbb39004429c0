package hub

import (
	"context"
	"net/url"
	"strconv"
	"testing"

	"github.com/gobwas/ws"
)

// presenceFmt writes "J|L ID INFO" and "S COUNT".
func presenceFmt(dst []byte, _ string, ev PresenceEvent) []byte {
	switch ev.Kind {
	case Join:
		return append(append(dst, "J "...), ev.Member.Info...)
	case Leave:
		return append(append(dst, "L "...), ev.Member.Info...)
	case Snapshot:
		return strconv.AppendInt(append(dst, "S "...), int64(len(ev.Members)), 10)
	}
	return nil
}

func TestPresenceLocal(t *testing.T) {
	n := startNode(t, Config{PresenceEvent: presenceFmt}, nil)
	a, _ := n.joinQuery(t, url.Values{"room": {"p"}, "info": {"alice"}})
	expectMessage(t, a, ws.OpText, "J alice")
	b, _ := n.joinQuery(t, url.Values{"room": {"p"}, "info": {"bob"}})
	expectMessage(t, a, ws.OpText, "J bob")
	expectMessage(t, b, ws.OpText, "J bob")
	quiet, _ := n.joinQuery(t, url.Values{"room": {"p"}}) // subscribed, not a member
	expectSilence(t, quiet)
	ctx := context.Background()
	if c, err := n.hub.PresenceCount(ctx, "p"); err != nil || c != 2 {
		t.Fatalf("PresenceCount = %d %v", c, err)
	}
	ms, err := n.hub.Presence(ctx, "p")
	if err != nil || len(ms) != 2 {
		t.Fatalf("Presence = %v %v", ms, err)
	}
	infos := map[string]bool{}
	for _, m := range ms {
		infos[string(m.Info)] = m.ID != ""
	}
	if !infos["alice"] || !infos["bob"] || ms[0].ID == ms[1].ID {
		t.Fatalf("Presence = %+v", ms)
	}
	_ = b.Close()
	expectMessage(t, a, ws.OpText, "L bob")
	expectMessage(t, quiet, ws.OpText, "L bob")
	waitFor(t, "bob gone", func() bool { c, _ := n.hub.PresenceCount(ctx, "p"); return c == 1 })
	got := make(chan []Member, 1)
	n.hub.PresenceAsync("p", func(m []Member, _ error) { got <- m })
	if m := <-got; len(m) != 1 || string(m[0].Info) != "alice" {
		t.Fatalf("PresenceAsync = %+v", m)
	}
}
