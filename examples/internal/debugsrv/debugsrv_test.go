package debugsrv

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/hub"
	"github.com/switchboard-ws/switchboard/metrics"
)

func TestOff(t *testing.T) {
	s, err := Start("", metrics.Config{})
	if s != nil || err != nil {
		t.Fatalf("Start(\"\") = %v, %v; want nil, nil", s, err)
	}
}

func TestEndpoints(t *testing.T) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	s, err := Start("127.0.0.1:0", metrics.Config{Hub: h})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	tests := []struct {
		path string
		want []string
	}{
		{"/metrics", []string{"# TYPE switchboard_hub_topics gauge", "switchboard_hub_published_total 0", "go_goroutines "}},
		{"/debug/pprof/", []string{"goroutine", "heap"}},
		{"/debug/pprof/goroutine?debug=1", []string{"goroutine profile:"}},
		{"/debug/pprof/cmdline", []string{"debugsrv"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := client.Get("http://" + s.Addr() + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("status %d, %v", resp.StatusCode, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("no %q in %s", w, tt.path)
				}
			}
		})
	}
}
