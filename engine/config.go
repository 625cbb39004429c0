package engine

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"runtime"
	"time"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/internal/pmd"
)

// Policy says what happens when a connection passes a limit: its outbound
// buffer (Config.MaxOutbound) or its inbound rate (Config.MaxMessagesPerSecond,
// Config.MaxBytesPerSecond).
type Policy uint8

// OutboundPolicy is the former name of Policy.
type OutboundPolicy = Policy

const (
	// PolicyClose closes the connection with close code 1008 (policy
	// violation), reported to OnClose. The default: a consumer that cannot
	// keep up, or a client that floods, gets a clean failure instead of
	// silently missing messages.
	PolicyClose Policy = iota
	// PolicyDrop drops the message: an outbound one that does not fit is not
	// sent (the writer gets ErrOutboundFull), an inbound one over the rate is
	// not delivered. The connection stays open; Stats counts the drops.
	PolicyDrop
)

func (p Policy) String() string {
	switch p {
	case PolicyClose:
		return "close"
	case PolicyDrop:
		return "drop"
	}
	return fmt.Sprintf("OutboundPolicy(%d)", uint8(p))
}

// Defaults used by DefaultConfig and for zero size limits.
const (
	DefaultMaxMessageSize     = codec.DefaultMaxMessageSize // 1 MiB
	DefaultMaxHeadSize        = codec.DefaultMaxHeadSize    // 8 KiB
	DefaultMaxOutbound        = 4 << 20                     // 4 MiB per connection
	DefaultReadBufferSize     = 256 << 10                   // per event loop
	DefaultFDHeadroom         = 64
	DefaultTickInterval       = 250 * time.Millisecond
	DefaultHandshakeTimeout   = 10 * time.Second
	DefaultPingInterval       = 25 * time.Second
	DefaultPongTimeout        = 10 * time.Second
	DefaultCloseTimeout       = 5 * time.Second
	DefaultWriteStallTimeout  = 30 * time.Second
	DefaultShutdownTimeout    = 10 * time.Second
	DefaultMessagesPerSecond  = 1000
	DefaultBytesPerSecond     = 16 << 20
	DefaultHandshakesPerSec   = 10000
	DefaultMaxPendingUpgrades = 10000
)

// Config configures a Server. Start from DefaultConfig: in a Config literal,
// zero size limits take their defaults but zero timeouts mean "disabled".
type Config struct {
	// Addr is the TCP address to listen on, e.g. "127.0.0.1:8080" or ":8080".
	Addr string
	// EventLoops is the number of event loops; 0 means one per CPU the Go
	// runtime may use (GOMAXPROCS, which follows a container's CPU limit:
	// NumCPU would count the host's CPUs).
	EventLoops int
	// ReusePort gives every event loop its own SO_REUSEPORT listener, so a
	// connection is accepted on the loop that serves it and the connection
	// ceiling is enforced exactly (see docs/architecture.md). With it off a
	// single acceptor hands connections to the loops and may run ahead of
	// them by a burst; FDHeadroom must then cover the burst. Default on.
	ReusePort bool
	// ShareAddr lets this server start on a port another switchboard
	// process (same user) already serves: both then listen with
	// SO_REUSEPORT (Linux, FreeBSD) and the kernel spreads new connections
	// over them. The joining process asks for it; the one already running
	// needs nothing. That is the zero-downtime restart (docs/scaling.md).
	// Off by default: Run fails with an error wrapping syscall.EADDRINUSE
	// ("address already in use") when anything listens on Addr already.
	// Needs ReusePort.
	ShareAddr bool

	// MaxMessageSize bounds a message (after reassembly) and so a frame;
	// bigger ones are refused with close 1009 from their header. 0: 1 MiB.
	MaxMessageSize int64
	// InboundBudget bounds, server-wide, the payload bytes held in data
	// messages still in progress (a large message while it arrives, the
	// fragments of a fragmented one), the memory that many peers each
	// starting a large message and stalling would take; with
	// permessage-deflate also a message's inflated bytes while it is
	// inflated and delivered (its compressed bytes count while they
	// arrive, like any message's). A connection whose
	// next bytes would pass it is closed with 1013 (Try Again Later): its
	// message was within MaxMessageSize, the server is momentarily short,
	// and a client may retry after a backoff. Other connections are not
	// affected. 0: DefaultInboundBudget(), one eighth of the memory the
	// process may use. math.MaxInt64: no server-wide bound.
	InboundBudget int64
	// MaxHeadSize bounds the HTTP request head; larger gets 431. 0: 8 KiB.
	MaxHeadSize int
	// MaxConnections caps open connections (handshaking ones included);
	// more are answered 503 and closed. 0: as many as the open-file limit
	// allows, less FDHeadroom. The cap is never above that either.
	MaxConnections int
	// FDHeadroom is the number of file descriptors kept free below the
	// process's open-file limit. 0: DefaultFDHeadroom plus 4 per loop.
	FDHeadroom int
	// MaxOutbound bounds the bytes queued for one connection but not yet
	// written to its socket. 0: 4 MiB. OutboundPolicy applies past it.
	MaxOutbound    int
	OutboundPolicy Policy
	// ReadBufferSize is the most bytes one read takes from a socket, into a
	// buffer each event loop owns (not one per connection). A frame that
	// arrives whole within one read is delivered without a copy; a larger
	// one is copied once, as it arrives. 0: DefaultReadBufferSize (256 KiB),
	// so messages of 64 KiB, common in practice, arrive whole.
	ReadBufferSize int
	// SocketSendBuffer sets SO_SNDBUF on every connection. 0 leaves the
	// kernel's autotuning, which can hold megabytes for a slow reader before
	// MaxOutbound sees any of it; set it (e.g. 64 KiB) to make MaxOutbound
	// bite sooner and to bound kernel memory per connection.
	SocketSendBuffer int

	// MaxMessagesPerSecond limits the data messages one connection may send,
	// as a token bucket holding MessageBurst messages (0: twice the rate).
	// MaxBytesPerSecond does the same for their payload bytes, with
	// ByteBurst (0: twice the rate, at least 2 × MaxMessageSize). Past
	// either, RatePolicy applies. 0 disables. A compressed message
	// (permessage-deflate) counts by its inflated size.
	MaxMessagesPerSecond int
	MessageBurst         int
	MaxBytesPerSecond    int
	ByteBurst            int
	RatePolicy           Policy
	// MaxConnsPerIP caps connections from one client IP; more are answered
	// 429 and closed. 0: unlimited (the default, because many users can
	// share one address behind NAT or a proxy).
	MaxConnsPerIP int
	// MaxHandshakesPerSecond caps new connections per second for the whole
	// server (a token bucket with a burst of one second's worth); more are
	// answered 503 and closed. 0: unlimited.
	MaxHandshakesPerSecond int
	// MaxPendingUpgrades caps the handshakes waiting server-wide for a
	// deferred upgrade decision (UpgradeRequest.Defer); past it Defer
	// returns ErrTooManyPendingUpgrades and the client gets 503 with
	// Retry-After (Stats.Rejected["pending_upgrades"]). 0: 10000.
	MaxPendingUpgrades int

	// Deflate is the permessage-deflate (RFC 7692) policy. The zero value,
	// the default, declines every offer: compression costs CPU on every
	// message both ways (a pooled compressor per message sent, a pooled
	// decompressor per message received), so it is opt-in. With
	// codec.DeflateNoContextTakeover a connection that negotiated it costs
	// nothing more while idle; with codec.DeflateContextTakeover it keeps
	// up to two windows (2^ServerMaxWindowBits and 2^ClientMaxWindowBits
	// bytes, 4 KiB each by default) from its first compressed message on.
	// MaxMessageSize bounds a message after inflation: a message that
	// inflates past it is stopped there and closed with 1009. The upgrade
	// hook sees the agreed parameters (UpgradeRequest.Deflate) and may
	// decline them (UpgradeResponse.NoDeflate). A hub broadcast is
	// compressed once, without a dictionary, within the server's window,
	// for every subscriber that takes it (Conn.SharedDeflate: without
	// server context, or with it at the server's window); others get it
	// uncompressed. Conn.WriteUncompressed skips compression for one
	// message.
	Deflate codec.DeflatePolicy
	// DeflateThreshold is the size below which an outbound data message is
	// sent uncompressed on a connection that negotiated permessage-deflate.
	// 0: DefaultDeflateThreshold (128 bytes; at flate level 1 a shorter
	// message shrinks little if at all). A message whose compressed form is
	// not smaller is sent plain as well.
	DeflateThreshold int
	// DeflateLevel is the flate level of the messages the server compresses
	// (its own writes and hub broadcasts): 1 (fastest) to 9 (smallest).
	// 0: DefaultDeflateLevel, 1: JSON shrinks 3–8× at it, and each step up
	// costs CPU on every message for a few percent of bytes (level 5, the
	// encoder gws uses under context takeover, sends ~10% fewer bytes than
	// level 1 for ~1.5× the CPU: see docs/benchmarks.md). It changes the
	// CPU per message only: the compressors are pooled per level, never
	// kept by a connection. A peer that demands server_max_window_bits below
	// 15 gets klauspost/compress's window-limited encoder whatever the
	// level.
	DeflateLevel int

	// AllowedOrigins lists the Origin values (e.g. "https://app.example.com")
	// a browser may connect from besides the server's own Host. "*" allows
	// any. Requests without an Origin header (non-browser clients) pass.
	AllowedOrigins []string
	// CheckOrigin, when set, replaces the Origin policy above.
	CheckOrigin func(r *UpgradeRequest) bool
	// KeepHeaders names request headers copied into Conn.Header for the
	// connection's life; others are not retained.
	KeepHeaders []string
	// Upgrade, when set, decides each handshake before the 101 (see UpgradeFunc).
	Upgrade UpgradeFunc
	// HTTP answers requests that are not WebSocket upgrades. When nil, they
	// get 426 Upgrade Required.
	HTTP HTTPFunc

	// Logger receives connection-level problems, at most one line per
	// connection. nil: slog.Default().
	Logger *slog.Logger

	// TickInterval is the granularity of every timeout below. 0: 250ms.
	TickInterval time.Duration
	// HandshakeTimeout closes a connection whose upgrade request has not
	// completed in time (slowloris). 0 disables.
	HandshakeTimeout time.Duration
	// PingInterval sends a ping to a connection that has been quiet this
	// long; any frame from the peer counts as liveness. 0 disables.
	PingInterval time.Duration
	// PongTimeout closes a connection that sent nothing back this long
	// after a ping. 0 disables (pings are still sent).
	PongTimeout time.Duration
	// IdleTimeout closes a connection that sent no data message this long,
	// with IdleCloseCode (default 1001). 0 disables.
	IdleTimeout   time.Duration
	IdleCloseCode codec.CloseCode
	// CloseTimeout is how long a server-initiated close waits for the
	// peer's close frame before closing TCP. 0 disables (closes at once).
	CloseTimeout time.Duration
	// WriteStallTimeout closes a connection whose outbound bytes have not
	// drained at all for this long. 0 disables.
	WriteStallTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown Run performs when its
	// context ends. 0: 10s.
	ShutdownTimeout time.Duration

	// TLS, when set, serves wss:// (TLS 1.2 and 1.3) with this standard
	// configuration: certificates, GetCertificate (SNI, reload),
	// GetConfigForClient, client certificates, MinVersion, cipher suites
	// and ALPN are honoured because crypto/tls runs the handshake. With
	// TLSAddr empty, Addr serves TLS only; with TLSAddr set, Addr serves
	// plain ws:// and TLSAddr wss://, on the same loops. The Config is
	// read per handshake and must not be modified after Run (use
	// GetConfigForClient or GetCertificate to change it live). Its
	// KeyLogWriter is honoured too. See docs/architecture.md (TLS).
	TLS *tls.Config
	// TLSAddr is the address for wss:// when Addr should stay plain.
	TLSAddr string
	// TLSHandshakeWorkers bounds the TLS handshakes computing at once
	// (crypto/tls runs on a goroutine only while a handshake is in
	// progress, off the event loops; one waiting for the client's next
	// flight holds no worker). Others wait their turn, counted in
	// Stats.TLS.HandshakesQueued. It also bounds the goroutines kept for
	// the next handshake, each for at most two ticks (TickInterval) after
	// its last one. 0: 4 × GOMAXPROCS.
	TLSHandshakeWorkers int
	// MaxTLSHandshakes bounds the TLS handshakes in progress at once,
	// server-wide (each holds a goroutine and crypto/tls's handshake state
	// until it ends or HandshakeTimeout passes); a connection past it is
	// closed before its handshake starts (Stats.Rejected["tls_handshakes"]).
	// 0: DefaultMaxTLSHandshakes.
	MaxTLSHandshakes int
}

// DefaultMaxTLSHandshakes is the default of Config.MaxTLSHandshakes.
const DefaultMaxTLSHandshakes = 4096

// DefaultConfig returns the recommended configuration listening on addr.
func DefaultConfig(addr string) Config {
	return Config{
		Addr:                   addr,
		ReusePort:              true,
		MaxMessageSize:         DefaultMaxMessageSize,
		MaxHeadSize:            DefaultMaxHeadSize,
		MaxOutbound:            DefaultMaxOutbound,
		MaxMessagesPerSecond:   DefaultMessagesPerSecond,
		MaxBytesPerSecond:      DefaultBytesPerSecond,
		MaxHandshakesPerSecond: DefaultHandshakesPerSec,
		TickInterval:           DefaultTickInterval,
		HandshakeTimeout:       DefaultHandshakeTimeout,
		PingInterval:           DefaultPingInterval,
		PongTimeout:            DefaultPongTimeout,
		IdleCloseCode:          codec.CloseGoingAway,
		CloseTimeout:           DefaultCloseTimeout,
		WriteStallTimeout:      DefaultWriteStallTimeout,
		ShutdownTimeout:        DefaultShutdownTimeout,
	}
}

// normalize validates c and fills the defaults, in one place.
func (c Config) normalize() (Config, error) {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("Addr is empty"))
	} else if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("Addr %q: %w", c.Addr, err))
	}
	if c.ShareAddr && !c.ReusePort {
		errs = append(errs, errors.New("ShareAddr needs ReusePort"))
	}
	if c.EventLoops < 0 {
		errs = append(errs, errors.New("EventLoops is negative"))
	}
	if c.EventLoops == 0 {
		c.EventLoops = runtime.GOMAXPROCS(0)
	}
	if c.MaxMessageSize < 0 || c.InboundBudget < 0 || c.MaxHeadSize < 0 || c.MaxConnections < 0 || c.MaxOutbound < 0 || c.FDHeadroom < 0 || c.SocketSendBuffer < 0 {
		errs = append(errs, errors.New("size limits must not be negative"))
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.InboundBudget == 0 {
		c.InboundBudget = DefaultInboundBudget()
	}
	if c.MaxHeadSize == 0 {
		c.MaxHeadSize = DefaultMaxHeadSize
	}
	if c.MaxHeadSize < 256 {
		errs = append(errs, errors.New("MaxHeadSize below 256 bytes cannot hold a browser's request"))
	}
	if c.MaxOutbound == 0 {
		c.MaxOutbound = DefaultMaxOutbound
	}
	if c.ReadBufferSize < 0 || c.ReadBufferSize > 64<<20 {
		errs = append(errs, errors.New("ReadBufferSize must be between 0 and 64 MiB"))
	}
	if c.ReadBufferSize == 0 {
		c.ReadBufferSize = DefaultReadBufferSize
	}
	if c.MaxOutbound > 1<<30 {
		errs = append(errs, errors.New("MaxOutbound over 1 GiB"))
	}
	if c.FDHeadroom == 0 {
		c.FDHeadroom = DefaultFDHeadroom + 4*c.EventLoops
	}
	if c.OutboundPolicy > PolicyDrop || c.RatePolicy > PolicyDrop {
		errs = append(errs, errors.New("unknown Policy value"))
	}
	if c.MaxMessagesPerSecond < 0 || c.MessageBurst < 0 || c.MaxBytesPerSecond < 0 || c.ByteBurst < 0 || c.MaxConnsPerIP < 0 || c.MaxHandshakesPerSecond < 0 || c.MaxPendingUpgrades < 0 {
		errs = append(errs, errors.New("rate and per-IP limits must not be negative"))
	}
	if c.MaxPendingUpgrades == 0 {
		c.MaxPendingUpgrades = DefaultMaxPendingUpgrades
	}
	if c.MaxMessagesPerSecond > 0 && c.MessageBurst == 0 {
		c.MessageBurst = 2 * c.MaxMessagesPerSecond
	}
	if c.MaxBytesPerSecond > 0 && c.ByteBurst == 0 {
		c.ByteBurst = max(2*c.MaxBytesPerSecond, int(2*c.MaxMessageSize))
	}
	if int64(c.MessageBurst)*1000 > math.MaxInt32 || int64(c.ByteBurst) > math.MaxInt32 {
		errs = append(errs, errors.New("MessageBurst over 2M or ByteBurst over 2 GiB"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"TickInterval", c.TickInterval}, {"HandshakeTimeout", c.HandshakeTimeout},
		{"PingInterval", c.PingInterval}, {"PongTimeout", c.PongTimeout},
		{"IdleTimeout", c.IdleTimeout}, {"CloseTimeout", c.CloseTimeout},
		{"WriteStallTimeout", c.WriteStallTimeout}, {"ShutdownTimeout", c.ShutdownTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", d.name))
		}
	}
	if c.TickInterval == 0 {
		c.TickInterval = DefaultTickInterval
	}
	if c.TickInterval < time.Millisecond {
		errs = append(errs, errors.New("TickInterval below 1ms"))
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.IdleCloseCode == 0 {
		c.IdleCloseCode = codec.CloseGoingAway
	}
	if !codec.ValidCloseCode(c.IdleCloseCode) {
		errs = append(errs, fmt.Errorf("IdleCloseCode %d cannot be sent", c.IdleCloseCode))
	}
	if c.Deflate.Mode > codec.DeflateContextTakeover {
		errs = append(errs, errors.New("unknown Deflate.Mode"))
	}
	if c.Deflate.ServerMaxWindowBits < 0 || c.Deflate.ServerMaxWindowBits > codec.DeflateMaxWindowBits ||
		c.Deflate.ClientMaxWindowBits < 0 || c.Deflate.ClientMaxWindowBits > codec.DeflateMaxWindowBits {
		errs = append(errs, errors.New("Deflate window bits must be 0 (default) to 15"))
	}
	if c.DeflateThreshold < 0 {
		errs = append(errs, errors.New("DeflateThreshold is negative"))
	}
	if c.DeflateThreshold == 0 {
		c.DeflateThreshold = DefaultDeflateThreshold
	}
	if c.DeflateLevel < 0 || c.DeflateLevel > pmd.MaxLevel {
		errs = append(errs, fmt.Errorf("DeflateLevel %d: want 0 (default) or 1 to 9", c.DeflateLevel))
	}
	if c.DeflateLevel == 0 {
		c.DeflateLevel = DefaultDeflateLevel
	}
	errs = c.normalizeTLS(errs)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("engine: invalid config: %w", errors.Join(errs...))
	}
	return c, nil
}
