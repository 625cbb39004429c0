package timerwheel_test

import (
	"fmt"
	"time"

	"github.com/switchboard-ws/switchboard/internal/timerwheel"
)

// A connection embeds its timer; the wheel hands the timer back on expiry
// and Value leads to the connection.
func Example() {
	type conn struct {
		name string
		ping timerwheel.Timer[*conn]
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	w := timerwheel.New[*conn](100*time.Millisecond, 512, start)

	a, b, c := &conn{name: "a"}, &conn{name: "b"}, &conn{name: "c"}
	for _, x := range []*conn{a, b, c} {
		x.ping.Value = x
	}
	w.Schedule(&a.ping, 250*time.Millisecond) // rounds up to tick 3
	w.Schedule(&b.ping, 100*time.Millisecond) // tick 1
	w.Schedule(&c.ping, time.Second)
	w.Cancel(&c.ping) // c went away

	fire := func(t *timerwheel.Timer[*conn]) {
		fmt.Printf("%s at +%v\n", t.Value.name, w.Now().Sub(start))
		if t.Value == b {
			w.Schedule(t, 200*time.Millisecond) // b's heartbeat repeats
		}
	}
	// An event loop would call Advance with the real time on each tick.
	for i := 1; i <= 4; i++ {
		w.Advance(start.Add(time.Duration(i)*100*time.Millisecond+7*time.Millisecond), fire)
	}
	fmt.Println("armed:", w.Len())
	// Output:
	// b at +100ms
	// a at +300ms
	// b at +300ms
	// armed: 1
}
