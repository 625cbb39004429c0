package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	const (
		pass = `{"Action":"start","Package":"m/a"}
{"Action":"run","Package":"m/a","Test":"TestOK"}
{"Action":"output","Package":"m/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"m/a","Test":"TestOK","Output":"    a_test.go:3: hidden\n"}
{"Action":"output","Package":"m/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"m/a","Test":"TestOK"}
{"Action":"run","Package":"m/a","Test":"TestRedis"}
{"Action":"output","Package":"m/a","Test":"TestRedis","Output":"=== RUN   TestRedis\n"}
{"Action":"output","Package":"m/a","Test":"TestRedis","Output":"    a_test.go:9: redis-server not installed\n"}
{"Action":"output","Package":"m/a","Test":"TestRedis","Output":"--- SKIP: TestRedis (0.00s)\n"}
{"Action":"skip","Package":"m/a","Test":"TestRedis"}
{"Action":"output","Package":"m/a","Output":"PASS\n"}
{"Action":"output","Package":"m/a","Output":"ok  \tm/a\t0.030s\n"}
{"Action":"pass","Package":"m/a"}
`
		fail = `{"Action":"run","Package":"m/b","Test":"TestSub"}
{"Action":"output","Package":"m/b","Test":"TestSub","Output":"=== RUN   TestSub\n"}
{"Action":"run","Package":"m/b","Test":"TestSub/x"}
{"Action":"output","Package":"m/b","Test":"TestSub/x","Output":"=== RUN   TestSub/x\n"}
{"Action":"output","Package":"m/b","Test":"TestSub/x","Output":"--- PASS: TestSub/x (0.00s)\n"}
{"Action":"pass","Package":"m/b","Test":"TestSub/x"}
{"Action":"run","Package":"m/b","Test":"TestSub/y"}
{"Action":"output","Package":"m/b","Test":"TestSub/y","Output":"=== RUN   TestSub/y\n"}
{"Action":"output","Package":"m/b","Test":"TestSub/y","Output":"    b_test.go:5: boom\n"}
{"Action":"output","Package":"m/b","Test":"TestSub/y","Output":"--- FAIL: TestSub/y (0.00s)\n"}
{"Action":"fail","Package":"m/b","Test":"TestSub/y"}
{"Action":"output","Package":"m/b","Test":"TestSub","Output":"--- FAIL: TestSub (0.00s)\n"}
{"Action":"fail","Package":"m/b","Test":"TestSub"}
{"Action":"output","Package":"m/b","Output":"FAIL\n"}
{"Action":"output","Package":"m/b","Output":"FAIL\tm/b\t0.030s\n"}
{"Action":"fail","Package":"m/b"}
`
		build = `{"ImportPath":"m/c [m/c.test]","Action":"build-output","Output":"# m/c [m/c.test]\n"}
{"ImportPath":"m/c [m/c.test]","Action":"build-output","Output":"c_test.go:3:31: declared and not used: x\n"}
{"ImportPath":"m/c [m/c.test]","Action":"build-fail"}
{"Action":"start","Package":"m/c"}
{"Action":"output","Package":"m/c","Output":"FAIL\tm/c [build failed]\n"}
{"Action":"fail","Package":"m/c","FailedBuild":"m/c [m/c.test]"}
`
	)
	tests := []struct {
		name, in   string
		want       string
		wantFailed bool
	}{
		{"pass with a skip", pass,
			"ok  \tm/a\t0.030s\nskipped (1):\n  m/a TestRedis: a_test.go:9: redis-server not installed\n", false},
		{"failed subtest", fail,
			"--- FAIL: TestSub (0.00s)\n    --- FAIL: TestSub/y (0.00s)\n        b_test.go:5: boom\nFAIL\nFAIL\tm/b\t0.030s\nFAIL\n", true},
		{"build error", build,
			"# m/c [m/c.test]\nc_test.go:3:31: declared and not used: x\nFAIL\tm/c [build failed]\nFAIL\n", true},
		{"test still running when the input ends", `{"Action":"run","Package":"m/d","Test":"TestHang"}
{"Action":"output","Package":"m/d","Test":"TestHang","Output":"panic: test timed out\n"}
`, "--- FAIL: TestHang (did not finish)\npanic: test timed out\n", false},
		{"text that is not an event passes through", "go: downloading x\n", "go: downloading x\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			failed, err := report(strings.NewReader(tt.in), &out)
			if err != nil || failed != tt.wantFailed || out.String() != tt.want {
				t.Errorf("report = %v, %v\n%s\nwant failed %v\n%s", failed, err, out.String(), tt.wantFailed, tt.want)
			}
		})
	}
}

// The filter over a real `go test -json` of this package's own test list.
func TestReportRealGoTest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not in PATH")
	}
	out, err := exec.Command(goBin, "test", "-json", "-list", ".", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if failed, err := report(bytes.NewReader(out), &w); err != nil || failed {
		t.Fatalf("report = %v, %v:\n%s", failed, err, w.String())
	}
	if !strings.Contains(w.String(), "TestReport\n") || !strings.Contains(w.String(), "ok  \t") {
		t.Fatalf("output:\n%s", w.String())
	}
}
