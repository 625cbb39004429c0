// Package compression holds the examples' permessage-deflate flags:
// -compression off|no-context-takeover|context-takeover and
// -compression-window N (9..15), mapped to engine.Config.Deflate, and
// -compression-level N (1..9), engine.Config.DeflateLevel.
package compression

import (
	"flag"
	"fmt"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
)

// Flags registers the flags on the default flag set; after flag.Parse, the
// returned function applies them to cfg (an error for a bad value).
func Flags() func(cfg *engine.Config) error {
	mode := flag.String("compression", "off", "permessage-deflate: off, no-context-takeover or context-takeover")
	window := flag.Int("compression-window", codec.DefaultDeflateWindowBits,
		"window bits (9..15) kept per connection and direction under context-takeover")
	level := flag.Int("compression-level", 0, "flate level 1 (fastest) to 9 (smallest) of the messages the server compresses (0: 1)")
	return func(cfg *engine.Config) error {
		if *level < 0 || *level > 9 {
			return fmt.Errorf("-compression-level %d: want 1..9", *level)
		}
		cfg.DeflateLevel = *level
		return Apply(cfg, *mode, *window)
	}
}

// Apply sets cfg.Deflate from a -compression mode and window bits.
func Apply(cfg *engine.Config, mode string, window int) error {
	if window < 9 || window > codec.DeflateMaxWindowBits {
		return fmt.Errorf("-compression-window %d: want 9..15", window)
	}
	switch mode {
	case "off", "":
		cfg.Deflate = codec.DeflatePolicy{}
	case "no-context-takeover":
		cfg.Deflate = codec.DeflatePolicy{Mode: codec.DeflateNoContextTakeover}
	case "context-takeover":
		cfg.Deflate = codec.DeflatePolicy{Mode: codec.DeflateContextTakeover,
			ServerMaxWindowBits: window, ClientMaxWindowBits: window}
	default:
		return fmt.Errorf("-compression %q: want off, no-context-takeover or context-takeover", mode)
	}
	return nil
}
