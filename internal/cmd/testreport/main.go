package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	failed, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Output     string
}

// test is what one test printed and how it ended.
type test struct {
	name     string
	lines    []string
	result   string // "pass", "fail", "skip"; "" while running
	children []*test
}

// pkg gathers one package's tests until the package ends.
type pkg struct {
	tests map[string]*test
	top   []*test
}

func (p *pkg) get(name string) *test {
	if t, ok := p.tests[name]; ok {
		return t
	}
	t := &test{name: name}
	p.tests[name] = t
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		p.get(name[:i]).children = append(p.get(name[:i]).children, t)
	} else {
		p.top = append(p.top, t)
	}
	return t
}

type skip struct{ pkg, test, reason string }

// report copies the events from r to w as a non-verbose `go test` would
// print them and lists the skipped tests at the end. failed is true when a
// package failed or did not build.
func report(r io.Reader, w io.Writer) (failed bool, err error) {
	pkgs := map[string]*pkg{}
	var skips []skip
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || e.Action == "" {
			fmt.Fprintf(w, "%s\n", line) // not an event: pass it on
			continue
		}
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
			continue
		case "build-fail":
			failed = true
			continue
		}
		p := pkgs[e.Package]
		if p == nil {
			p = &pkg{tests: map[string]*test{}}
			pkgs[e.Package] = p
		}
		if e.Test == "" {
			switch e.Action {
			case "output":
				if e.Output != "PASS\n" && !strings.HasPrefix(e.Output, "=== ") {
					if e.Output == "FAIL\n" || strings.HasPrefix(e.Output, "FAIL\t") || strings.HasPrefix(e.Output, "ok  \t") {
						printFailures(w, p.top, 0) // before the package's verdict, as go test does
						p.top = nil
					}
					fmt.Fprint(w, e.Output)
				}
			case "fail":
				failed = true
				printFailures(w, p.top, 0)
				delete(pkgs, e.Package)
			case "pass", "skip":
				delete(pkgs, e.Package)
			}
			continue
		}
		t := p.get(e.Test)
		switch e.Action {
		case "output":
			if !strings.HasPrefix(strings.TrimLeft(e.Output, " "), "=== ") {
				t.lines = append(t.lines, e.Output)
			}
		case "pass", "fail", "skip":
			t.result = e.Action
			if e.Action == "skip" {
				skips = append(skips, skip{e.Package, e.Test, reason(t)})
			}
			if e.Action != "fail" {
				t.lines = nil // never printed
			}
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	for _, p := range pkgs { // input ended inside a package
		printFailures(w, p.top, 0)
	}
	if len(skips) > 0 {
		fmt.Fprintf(w, "skipped (%d):\n", len(skips))
		for _, s := range skips {
			fmt.Fprintf(w, "  %s %s: %s\n", s.pkg, s.test, s.reason)
		}
	}
	if failed {
		fmt.Fprintln(w, "FAIL")
	}
	return failed, nil
}

// printFailures prints the tests that failed, or never finished, with
// their failed subtests indented below them, as go test does without -v.
func printFailures(w io.Writer, tests []*test, depth int) {
	indent := strings.Repeat("    ", depth)
	for _, t := range tests {
		if t.result == "pass" || t.result == "skip" {
			continue
		}
		var header string
		var body []string
		for _, l := range t.lines {
			if strings.HasPrefix(strings.TrimLeft(l, " "), "--- ") && header == "" {
				header = strings.TrimLeft(l, " ")
				continue
			}
			body = append(body, l)
		}
		if header == "" {
			header = "--- FAIL: " + t.name + " (did not finish)\n"
		}
		fmt.Fprint(w, indent+header)
		for _, l := range body {
			fmt.Fprint(w, indent+l)
		}
		printFailures(w, t.children, depth+1)
	}
}

// reason is what a skipped test printed, the "--- SKIP" line aside, on one
// line.
func reason(t *test) string {
	var parts []string
	for _, l := range t.lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		parts = append(parts, l)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " / ")
}
