// Package load drives WebSocket load from worker processes. A Pool (the
// coordinator) starts as many `loadgen worker` processes as the open-file
// limit requires and speaks JSON lines with each over stdin/stdout; every
// worker holds its share of connections on switchboard's public client
// (package client: event loops, no goroutine per connection), and times
// each message in the client's message callback, as it is delivered.
//
// Message formats on the wire (the same for every server under test):
//   - echo: a binary message whose first byte is 'e' and bytes 1..4 the job
//     number; the server sends it back unchanged.
//   - broadcast: a binary message whose first byte is 'B' (bytes 1..4 the
//     sequence number, 5..12 the send time in Unix nanoseconds); the server
//     sends it to every connection it holds, the sender included.
//   - stall: one binary frame whose header declares size bytes, followed
//     by size-1 bytes of payload ('s') and then nothing: the server holds an
//     incomplete message until the connection closes. Package client never
//     leaves a frame open: a stalled connection is a raw one
//     (internal/wstest) that replaces a package client connection.
//
// With permessage-deflate (Command.Deflate) package client compresses
// every data message the worker sends that gets smaller (with context
// where the session keeps it) and inflates every message it receives in
// full; echo replies and broadcasts are checked for length. The
// subscribers of a compressed broadcast without context takeover
// (Command.BcastOnly) are the exception: all but one in SampleEvery are
// raw receivers (internal/wstest) that inflate each distinct compressed
// payload once per worker, so that the generator's inflating is not
// charged to the server (recv.go).
//
// In raw mode (plain TCP, the bare gnet floor) a connection is a net.Conn
// with a reader goroutine, an echo is size bytes back for size bytes sent,
// and there is no broadcast and no stall.
package load

import "github.com/switchboard-ws/switchboard/benchmarks/internal/histo"

// Marker bytes of the two message kinds.
const (
	MarkEcho      = 'e'
	MarkBroadcast = 'B'
)

// Command is one line from the coordinator to a worker.
type Command struct {
	Op string `json:"op"` // init, connect, echo, stall, bcast_begin, publish, bcast_end, handshake, close

	// init
	Addr          string `json:"addr,omitempty"`
	Path          string `json:"path,omitempty"`
	Raw           bool   `json:"raw,omitempty"`
	SrcBase       string `json:"src_base,omitempty"`
	PerSource     int    `json:"per_source,omitempty"`
	PingEveryMS   int    `json:"ping_every_ms,omitempty"`
	DialConc      int    `json:"dial_conc,omitempty"`
	DialTimeoutMS int    `json:"dial_timeout_ms,omitempty"`
	// Deflate is the permessage-deflate offer of every connection
	// (Deflate* in dial.go); "": none.
	Deflate string `json:"deflate,omitempty"`
	// TLSCA, when set, is the PEM file of the CA the server's certificate
	// chains to: every connection runs a crypto/tls handshake (wss://),
	// verifying the server as the host of Addr; TLSResume keeps a session
	// cache per worker so later handshakes resume earlier sessions.
	TLSCA     string `json:"tls_ca,omitempty"`
	TLSResume bool   `json:"tls_resume,omitempty"`
	// BcastOnly says the connections only take broadcasts (and one
	// publishes): with Deflate DeflateNoContextTakeover, all but one in
	// SampleEvery are raw receivers that do not inflate every copy
	// (recv.go).
	BcastOnly bool `json:"bcast_only,omitempty"`
	// RawReceivers (Options.RawReceivers): raw receivers without deflate
	// as well.
	RawReceivers bool `json:"raw_receivers,omitempty"`

	// connect: open N connections numbered First, First+1, ...
	N     int `json:"n,omitempty"`
	First int `json:"first,omitempty"`

	// echo: Conns connections each send Msgs messages of Size bytes, one
	// at a time. stall: Conns connections each send all of a Size-byte
	// message but its last byte, every write done within TimeoutMS.
	Conns     int  `json:"conns,omitempty"`
	Msgs      int  `json:"msgs,omitempty"`
	Size      int  `json:"size,omitempty"`
	TimeoutMS int  `json:"timeout_ms,omitempty"`
	Record    bool `json:"record,omitempty"`
	// Doc is the payload of echo messages and publishes: "" bytes of one
	// value, DocJSON generated JSON documents (package jsondoc) after the
	// marker bytes, 64 different ones per echo job, cycled.
	Doc string `json:"doc,omitempty"`

	// handshake: Conns goroutines each open a connection (TCP, TLS, the
	// WebSocket upgrade), close it, and open the next, for TimeoutMS.
	//
	// bcast_begin: K publishes follow; publish: send number Seq.
	K   int `json:"k,omitempty"`
	Seq int `json:"seq,omitempty"`
}

// Event is one line from a worker to the coordinator.
type Event struct {
	Ev string `json:"ev"` // ready, progress, connected, echo, stalled, ok, got, bcast, closed, error

	Done int64  `json:"done,omitempty"` // progress
	OK   int    `json:"ok,omitempty"`   // connected: connections opened by this op; stalled: partial messages sent
	Fail int    `json:"fail,omitempty"` // connected: connections that failed; stalled: partial messages not sent
	Live int    `json:"live,omitempty"` // connections held now
	Err  string `json:"err,omitempty"`

	Msgs      int64           `json:"msgs,omitempty"` // echo: round trips completed
	ElapsedNS int64           `json:"elapsed_ns,omitempty"`
	Hist      *histo.Snapshot `json:"hist,omitempty"`

	Seq   int   `json:"seq,omitempty"` // got
	MaxNS int64 `json:"max_ns,omitempty"`
	Count int64 `json:"count,omitempty"`

	Counts []int64 `json:"counts,omitempty"` // bcast: arrivals per publish

	// echo: socket bytes written and read by the worker during the op
	// (WebSocket frames, TCP payload: client.Client.Traffic). bcast:
	// arrivals whose length was wrong (Fail), and compressed arrivals
	// served from the worker's zcache without inflating (Shared).
	Tx     int64 `json:"tx,omitempty"`
	Rx     int64 `json:"rx,omitempty"`
	Shared int64 `json:"shared,omitempty"`
}

// DocJSON is Command.Doc for JSON documents.
const DocJSON = "json"
