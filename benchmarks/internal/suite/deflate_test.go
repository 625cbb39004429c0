package suite

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	old := &Results{
		Config: Config{Name: "full", Levels: []int{1000}, EchoSizes: []int{64}},
		Mem:    []MemRun{{Server: "switchboard", Round: 1}},
		Echo:   []EchoRun{{Server: "switchboard", Round: 1}},
		Health: []Health{{Job: "r1-mem-switchboard"}, {Job: "r1-echo-switchboard"}},
		Order:  []string{"r1-mem-switchboard", "r1-echo-switchboard"},
	}
	fresh := &Results{
		Config:  Config{Name: "full", Levels: []int{5}, EchoSizes: []int{1024}, Deflate: smokeDeflate()},
		Echo:    []EchoRun{{Server: "gws", Round: 1}},
		Health:  []Health{{Job: "r1-echo-gws"}},
		Order:   []string{"r1-echo-gws"},
		Deflate: &DeflateResults{Command: "x"},
	}
	for _, tc := range []struct {
		kinds          []string
		echo, deflate  bool // taken from fresh
		health         []string
		levels, sizes0 int
	}{
		{[]string{"deflate"}, false, true, []string{"r1-mem-switchboard", "r1-echo-switchboard"}, 1000, 64},
		{[]string{"echo"}, true, false, []string{"r1-mem-switchboard", "r1-echo-gws"}, 1000, 1024},
		{nil, true, true, []string{"r1-echo-gws"}, 5, 1024},
	} {
		m := Merge(old, fresh, tc.kinds)
		if got := m.Echo[0].Server == "gws"; got != tc.echo {
			t.Errorf("%v: echo from fresh %v", tc.kinds, got)
		}
		if got := m.Deflate != nil; got != tc.deflate {
			t.Errorf("%v: deflate from fresh %v", tc.kinds, got)
		}
		var hs []string
		for _, h := range m.Health {
			hs = append(hs, h.Job)
		}
		if strings.Join(hs, ",") != strings.Join(tc.health, ",") {
			t.Errorf("%v: health %v, want %v", tc.kinds, hs, tc.health)
		}
		if m.Config.Levels[0] != tc.levels || m.Config.EchoSizes[0] != tc.sizes0 {
			t.Errorf("%v: config %v %v", tc.kinds, m.Config.Levels, m.Config.EchoSizes)
		}
	}
	if len(old.Mem) != 1 || old.Echo[0].Server != "switchboard" || old.Deflate != nil {
		t.Error("Merge changed old")
	}
}

// TestDeflateReport writes the section from fixed results and checks the
// verdicts it derives.
func TestDeflateReport(t *testing.T) {
	sb := func(m string) DeflateVariant { return DeflateVariant{Server: "switchboard", Mode: m} }
	dc := smokeDeflate()
	dc.Idle = []DeflateVariant{sb(ModeOff), sb(ModeNoContext), sb(ModeContext)}
	dc.Echo = []DeflateVariant{sb(ModeNoContext), {Server: "gws", Mode: ModeNoContext}, sb(ModeContext),
		{Server: "switchboard", Mode: ModeContext, Level: GWSContextLevel}, {Server: "gws", Mode: ModeContext}}
	dc.Bcast = []DeflateVariant{sb(ModeOff), sb(ModeNoContext)}
	r := &Results{Config: Config{Servers: Servers, Deflate: dc}, Deflate: &DeflateResults{
		Config: dc, Command: "cd benchmarks && ./bin/bench -jobs deflate", Started: time.Now(),
		Mem: []DeflateMem{
			{Server: "switchboard", Mode: ModeOff, Round: 1, Point: MemPoint{Conns: 20, RSSPer: 600}},
			{Server: "switchboard", Mode: ModeNoContext, Round: 1, Point: MemPoint{Conns: 20, RSSPer: 610}},
			{Server: "switchboard", Mode: ModeContext, Round: 1, Point: MemPoint{Conns: 20, RSSPer: 600 + 9000}},
		},
		Echo: []DeflateEcho{
			{Server: "switchboard", Mode: ModeNoContext, Round: 1, Points: []DeflateEchoPoint{{EchoPoint: EchoPoint{Msgs: 50, Rate: 1000, CPUPerMsg: 50e3}, TxPer: 475, RxPer: 471}}},
			{Server: "gws", Mode: ModeNoContext, Round: 1, Points: []DeflateEchoPoint{{EchoPoint: EchoPoint{Msgs: 50, Rate: 900, CPUPerMsg: 60e3}, TxPer: 475, RxPer: 471}}},
			// under context takeover the level-5 run is compared with gws
			{Server: "switchboard", Mode: ModeContext, Round: 1, Points: []DeflateEchoPoint{{EchoPoint: EchoPoint{Msgs: 50, Rate: 1000, CPUPerMsg: 50e3}, TxPer: 475, RxPer: 330}}},
			{Server: "switchboard", Mode: ModeContext, Level: GWSContextLevel, Round: 1, Points: []DeflateEchoPoint{{EchoPoint: EchoPoint{Msgs: 50, Rate: 950, CPUPerMsg: 55e3}, TxPer: 475, RxPer: 300}}},
			{Server: "gws", Mode: ModeContext, Round: 1, Points: []DeflateEchoPoint{{EchoPoint: EchoPoint{Msgs: 50, Rate: 900, CPUPerMsg: 60e3}, TxPer: 475, RxPer: 297}}},
		},
		Bcast: []DeflateBcast{
			{BcastRun: BcastRun{Server: "switchboard", Round: 1, Complete: 3, Publishes: 3, P50: 100e6}, Mode: ModeOff},
			{BcastRun: BcastRun{Server: "switchboard", Round: 1, Complete: 3, Publishes: 3, P50: 130e6}, Mode: ModeNoContext},
		},
	}}
	dir := t.TempDir()
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if err := writeDeflate(w, r, "img", filepath.Join(dir)); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"**met** — an idle connection with deflate and no context takeover costs no more",
		"**missed** — with context takeover at most its windows above",
		"**met** — echo 1 KiB JSON, no context takeover: msgs/s at least gws's: 1000 vs 900",
		"**met** — echo 1 KiB JSON, no context takeover: bytes the server sends within 5% of gws's at the same level: 471 vs 471 B",
		"**met** — echo 1 KiB JSON, context takeover, level 5: msgs/s at least gws's: 950 vs 900",
		"**met** — echo 1 KiB JSON, context takeover, level 5: bytes the server sends within 5% of gws's at the same level: 300 vs 297 B",
		"| switchboard | context takeover, level 5 | 950 |",
		"**missed** — broadcast completion with compression within 1.2× of uncompressed (p50): 130 ms vs 100 ms = 1.30×",
		"Command: `cd benchmarks && ./bin/bench -jobs deflate` (idle jobs)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("section lacks %q:\n%s", want, text)
		}
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	if len(pngs) != 5 {
		t.Errorf("plots: %v", pngs)
	}
	if _, err := os.Stat(filepath.Join(dir, "bench-deflate-wire.png")); err != nil {
		t.Error(err)
	}
}

// TestMergeDeflate replaces the kinds of deflate job a run made and keeps
// the others, with the commands of both runs.
func TestMergeDeflate(t *testing.T) {
	old := &DeflateResults{
		Command: "a", Mem: []DeflateMem{{Server: "old"}}, Echo: []DeflateEcho{{Server: "old"}}, Bcast: []DeflateBcast{{Mode: "old"}},
		Runs:   []DeflateRun{{Command: "a", Kinds: []string{"idle", "echo", "bcast"}}},
		Health: []Health{{Job: "r1-deflate-idle-x-off"}, {Job: "r1-deflate-echo-x-off"}, {Job: "r1-deflate-bcast-x-off"}},
	}
	fresh := &DeflateResults{
		Command: "b", Config: DeflateConfig{Idle: []DeflateVariant{{Server: "x", Mode: ModeOff}}, Bcast: []DeflateVariant{{Server: "x", Mode: ModeOff}}, IdleConns: 7},
		Mem: []DeflateMem{{Server: "new"}}, Bcast: []DeflateBcast{{Mode: "new"}},
		Runs:   []DeflateRun{{Command: "b", Kinds: []string{"idle", "bcast"}}},
		Health: []Health{{Job: "r1-deflate-idle-x-on"}},
	}
	m := mergeDeflate(old, fresh)
	if m.Mem[0].Server != "new" || m.Echo[0].Server != "old" || m.Bcast[0].Mode != "new" || m.Config.IdleConns != 7 {
		t.Fatalf("merged: %+v", m)
	}
	if len(m.Runs) != 2 || strings.Join(m.Runs[0].Kinds, ",") != "echo" || m.Runs[1].Command != "b" {
		t.Fatalf("runs: %+v", m.Runs)
	}
	var hs []string
	for _, h := range m.Health {
		hs = append(hs, h.Job)
	}
	if strings.Join(hs, ",") != "r1-deflate-echo-x-off,r1-deflate-idle-x-on" {
		t.Fatalf("health: %v", hs)
	}
	old.Runs = nil // results from before runs were recorded
	if m := mergeDeflate(old, fresh); len(m.Runs) != 2 || m.Runs[0].Command != "a" || strings.Join(m.Runs[0].Kinds, ",") != "echo" {
		t.Fatalf("runs from old results: %+v", m.Runs)
	}
	if mergeDeflate(nil, fresh) != fresh {
		t.Fatal("nothing to merge into")
	}
}
