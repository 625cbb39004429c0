package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-ws/switchboard/hub/redisbroker/redistest"
	"github.com/switchboard-ws/switchboard/internal/wstest"
)

// nextRoomEvent reads c's next message that is not presence.
func nextRoomEvent(t *testing.T, c *wstest.Client) string {
	t.Helper()
	_, p, err := c.ReadMessage(15 * time.Second)
	for err == nil && isPresence(p) {
		_, p, err = c.ReadMessage(15 * time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(p)
}

// Redis goes away and comes back with its data while a client on instance
// A speaks: A's clients get the message (offset 0), B's cannot, and once
// Redis is back every client of the room is told {"recovered":false}
// before the chat goes on.
func TestOutageReportedAcrossInstances(t *testing.T) {
	rs := redistest.Start(t)
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = admin.Close() })
	addrA, addrB := start(t, rs.URL()), start(t, rs.URL())
	ca, cb := dial(t, addrA, "o", "a"), dial(t, addrB, "o", "b")
	// Until B has subscribed in Redis, A's messages do not reach it: send
	// until one does.
	deadline := time.Now().Add(10 * time.Second)
	var last roomMsg
	for {
		_ = ca.WriteText("ping")
		expect(t, ca, `{"name":"a","text":"ping"}`)
		_, p, err := cb.ReadMessage(200 * time.Millisecond)
		if err == nil && !isPresence(p) && json.Unmarshal(p, &last) == nil && last.Offset > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("instance B never got a message from instance A")
		}
	}
	for cb.ExpectSilence(200*time.Millisecond) != nil { // stray pings
		_, p, _ := cb.ReadMessage(time.Second)
		_ = json.Unmarshal(p, &last)
	}

	if err := admin.Save(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	rs.Stop()
	_ = ca.WriteText("during")
	if got := nextRoomEvent(t, ca); !strings.HasPrefix(got, `{"offset":0,"epoch":"",`) || !strings.Contains(got, "during") {
		t.Fatalf("on A during the outage: %s", got)
	}
	silent(t, cb)
	rs.Restart(t)
	want := `{"recovered":false,"epoch":"` + last.Epoch + `","offset":` + strconv.FormatUint(last.Offset+1, 10) + `}`
	for _, c := range []*wstest.Client{ca, cb} {
		if got := nextRoomEvent(t, c); got != want {
			t.Fatalf("after Redis came back: %s, want %s", got, want)
		}
	}
	// The chat goes on, numbered right after the report.
	_ = ca.WriteText("after")
	for _, c := range []*wstest.Client{ca, cb} {
		if m := expect(t, c, `{"name":"a","text":"after"}`); m.Offset != last.Offset+2 || m.Epoch != last.Epoch {
			t.Fatalf("after the report: %+v", m)
		}
	}
	silent(t, cb)
}
