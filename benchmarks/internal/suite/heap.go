package suite

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// HeapReport is where a server's in-use heap goes at Conns idle
// connections, every allocation recorded.
type HeapReport struct {
	Server string    `json:"server"`
	Conns  int       `json:"conns"`
	Total  float64   `json:"total_per_conn"` // bytes per connection, whole heap
	Rows   []HeapRow `json:"rows"`
}

// HeapRow is one allocation site.
type HeapRow struct {
	PerConn float64 `json:"per_conn"` // bytes per connection
	Func    string  `json:"func"`
}

// pprofTop runs `go tool pprof -top` and divides each site by conns.
func pprofTop(bin, prof string, conns int) ([]HeapRow, float64, error) {
	out, err := exec.Command("go", "tool", "pprof", "-top", "-sample_index=inuse_space", "-nodecount=12", bin, prof).Output()
	if err != nil {
		return nil, 0, fmt.Errorf("go tool pprof: %w", err)
	}
	var rows []HeapRow
	var total float64
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if strings.HasPrefix(line, "Showing nodes accounting for") {
			// "Showing nodes accounting for X, P% of T total"
			if i := strings.Index(line, " of "); i >= 0 {
				total = parseSize(strings.Fields(line[i+4:])[0])
			}
			continue
		}
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") {
			continue
		}
		flat := parseSize(f[0])
		if flat <= 0 {
			continue
		}
		rows = append(rows, HeapRow{PerConn: flat / float64(conns), Func: strings.Join(f[5:], " ")})
	}
	return rows, total / float64(conns), nil
}

// parseSize reads pprof's sizes: 512B, 3.5kB, 1.2MB, 2GB.
func parseSize(s string) float64 {
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return v * mult
}
