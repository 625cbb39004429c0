package compression

import (
	"testing"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

func TestApply(t *testing.T) {
	for _, c := range []struct {
		mode   string
		window int
		want   codec.DeflatePolicy
		ok     bool
	}{
		{"off", 12, codec.DeflatePolicy{}, true},
		{"no-context-takeover", 12, codec.DeflatePolicy{Mode: codec.DeflateNoContextTakeover}, true},
		{"context-takeover", 10, codec.DeflatePolicy{Mode: codec.DeflateContextTakeover, ServerMaxWindowBits: 10, ClientMaxWindowBits: 10}, true},
		{"context-takeover", 8, codec.DeflatePolicy{}, false},
		{"context-takeover", 16, codec.DeflatePolicy{}, false},
		{"gzip", 12, codec.DeflatePolicy{}, false},
	} {
		var cfg engine.Config
		err := Apply(&cfg, c.mode, c.window)
		if (err == nil) != c.ok || (c.ok && cfg.Deflate != c.want) {
			t.Errorf("Apply(%q, %d): %+v, %v", c.mode, c.window, cfg.Deflate, err)
		}
	}
}
