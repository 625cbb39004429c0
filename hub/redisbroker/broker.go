package redisbroker

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-ws/switchboard/codec"
	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
)

// Defaults for Config.
const (
	DefaultPrefix      = "switchboard:"
	DefaultQueueSize   = 8192
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
	DefaultHealthCheck = 15 * time.Second
	// DefaultMaxLossTopics bounds the topics a node remembers for a loss
	// marker (Config.MaxLossTopics).
	DefaultMaxLossTopics = 4096
	maxBatch             = 128
)

// Errors returned by Publish.
var (
	ErrClosed    = errors.New("redisbroker: closed")
	ErrQueueFull = errors.New("redisbroker: outbound queue full, message not sent to other nodes")
)

// Config configures a Broker.
type Config struct {
	// URL is the Redis server, e.g. "redis://127.0.0.1:6379/0" (see
	// redis.ParseURL). Ignored when Options is set.
	URL string
	// Options configures the Redis clients in full. The broker makes two
	// clients from a copy: one publishes (with retries off: a command that
	// may have reached Redis is never sent twice), one holds the
	// subscription connection.
	Options *redis.Options
	// Prefix is prepended to topics to make Redis channel names, so several
	// applications can share one Redis. Default "switchboard:".
	Prefix string
	// QueueSize bounds the messages waiting to be sent to Redis; past it,
	// Publish drops the message for other nodes and returns ErrQueueFull.
	// Default 8192.
	QueueSize int
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts (exponential, with jitter). Defaults 100ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// HealthCheck is how long the subscription connection may stay silent
	// before the broker sends a PING; no answer within as long again counts
	// as a lost connection. Default 15s.
	HealthCheck time.Duration
	// PresenceTTL is how long a member of a topic's presence outlives its
	// node's last refresh (every PresenceTTL/3): when a node dies, its
	// members vanish from the presence after at most this long. Default
	// 30s.
	PresenceTTL time.Duration
	// MaxLossTopics bounds the history topics this node remembers, while
	// Redis does not take its publishes, as having had messages delivered
	// on this node only; each gets a loss marker when Redis is back. Past
	// it, every history topic with subscribers on this node gets one
	// instead (Stats.LossOverflows). Default 4096.
	MaxLossTopics int
	// Logger receives connection losses and recoveries (one line each).
	// nil: slog.Default().
	Logger *slog.Logger
}

// Broker is a hub.Broker over Redis Pub/Sub. Create it with New and pass it
// in hub.Config; the hub closes it.
type Broker struct {
	prefix  string
	node    [nodeIDLen]byte
	cfg     Config
	log     *slog.Logger
	pub     *redis.Client
	sub     *redis.Client
	deliver atomic.Pointer[hub.DeliverFunc]
	sink    atomic.Pointer[hub.StreamSink]
	ruleOf  func(topic string) (hub.HistoryRule, bool)
	fetchq  chan fetchReq
	last    map[string]hub.Position // history topics: last delivered; subscriber goroutine only
	psink   atomic.Pointer[hub.PresenceSink]
	preg    presenceReg

	queue  chan outMsg
	kick   chan struct{} // subscriptions changed; capacity 1
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool

	mu      sync.Mutex
	desired map[string]struct{} // topics with local subscribers
	session *session            // the live subscription connection, or nil
	// fresh: history topics subscribed whose first catch-up has not run
	// yet, with the first position this node's own publishes got in the
	// meantime (zero: none). Bounded by desired; freshN is len(fresh).
	fresh  map[string]hub.Position
	freshN atomic.Int32

	// Topics whose messages reached this node only, waiting for a loss
	// marker (loss.go), with the epoch this node knew then. At most
	// Config.MaxLossTopics; lossAll: more were lost.
	lmu         sync.Mutex
	lossy       map[string]string
	lossFlight  int // markers taken by the publisher and not yet answered; under lmu
	lossAll     bool
	lossPending atomic.Bool

	published  atomic.Uint64
	lost       atomic.Uint64
	received   atomic.Uint64
	own        atomic.Uint64
	invalid    atomic.Uint64
	reconnects atomic.Uint64
	publishUp  atomic.Bool

	unreplicated atomic.Uint64
	recovered    atomic.Uint64
	gaps         atomic.Uint64
	fetches      atomic.Uint64
	batches      atomic.Uint64
	presDropped  atomic.Uint64
	presExpired  atomic.Uint64

	lossMarkers   atomic.Uint64
	lossReports   atomic.Uint64
	lossOverflows atomic.Uint64
}

type outMsg struct {
	channel string
	data    []byte
	// History topics only.
	hist  bool
	loss  bool // a loss marker (data: the epoch it is for)
	topic string
	rule  hub.HistoryRule
	done  func(hub.Position, error) // or nil
	// A presence change instead of a message.
	pres *presOp
}

// session is one subscription connection. applied and confirmed are
// guarded by Broker.mu.
type session struct {
	ps        *redis.PubSub
	applied   map[string]struct{} // topics SUBSCRIBE was sent for
	confirmed map[string]struct{} // topics Redis confirmed
}

// New returns a broker for cfg and starts its goroutines (three per
// broker: publisher, subscriber, subscription sync). It does not wait for
// Redis: a broker started while Redis is down connects when it comes up.
func New(cfg Config) (*Broker, error) {
	var opt redis.Options
	switch {
	case cfg.Options != nil:
		opt = *cfg.Options
	case cfg.URL != "":
		o, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, err
		}
		opt = *o
	default:
		return nil, errors.New("redisbroker: Config needs URL or Options")
	}
	if cfg.QueueSize < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.HealthCheck < 0 {
		return nil, errors.New("redisbroker: negative Config value")
	}
	cfg.Prefix = cmp.Or(cfg.Prefix, DefaultPrefix)
	cfg.QueueSize = cmp.Or(cfg.QueueSize, DefaultQueueSize)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff), cfg.MinBackoff)
	cfg.HealthCheck = cmp.Or(cfg.HealthCheck, DefaultHealthCheck)
	if cfg.PresenceTTL < 0 || cfg.MaxLossTopics < 0 {
		return nil, errors.New("redisbroker: negative Config value")
	}
	cfg.PresenceTTL = cmp.Or(cfg.PresenceTTL, DefaultPresenceTTL)
	cfg.MaxLossTopics = cmp.Or(cfg.MaxLossTopics, DefaultMaxLossTopics)
	b := &Broker{
		prefix:  cfg.Prefix,
		cfg:     cfg,
		log:     cmp.Or(cfg.Logger, slog.Default()),
		queue:   make(chan outMsg, cfg.QueueSize),
		kick:    make(chan struct{}, 1),
		desired: make(map[string]struct{}),
		fresh:   make(map[string]hub.Position),
		lossy:   make(map[string]string),
		fetchq:  make(chan fetchReq, defaultFetchMax),
		last:    make(map[string]hub.Position),
		preg:    presenceReg{members: make(map[string]map[string][]byte)},
		ruleOf:  func(string) (hub.HistoryRule, bool) { return hub.HistoryRule{}, false },
	}
	_, _ = rand.Read(b.node[:])
	opt.MaxRetries = -1 // at most once: never resend a PUBLISH that may have gone out
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1 // the broker retries, with its own backoff
	}
	pubOpt, subOpt := opt, opt
	pubOpt.PoolSize = 2
	b.pub = redis.NewClient(&pubOpt)
	b.sub = redis.NewClient(&subOpt)
	b.publishUp.Store(true)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.wg.Add(5)
	go b.publisher()
	go b.subscriber()
	go b.syncer()
	go b.fetcher()
	go b.presenceLoop()
	return b, nil
}

// NodeID identifies this broker's messages in Redis (hex).
func (b *Broker) NodeID() string { return hex.EncodeToString(b.node[:]) }

// Attach implements hub.Broker.
func (b *Broker) Attach(deliver hub.DeliverFunc) error {
	if !b.deliver.CompareAndSwap(nil, &deliver) {
		return hub.ErrAttached
	}
	return nil
}

// Publish implements hub.Broker: it queues the message for Redis and
// returns at once. A message that finds the queue full is dropped for the
// other nodes (ErrQueueFull); one that Redis does not take (connection
// lost) is dropped too, without retry: delivery across nodes is at most
// once.
func (b *Broker) Publish(topic string, typ engine.MessageType, payload []byte) error {
	if b.closed.Load() {
		return ErrClosed
	}
	m := outMsg{channel: b.prefix + topic, data: encode(&b.node, typ, payload)}
	select {
	case b.queue <- m:
		return nil
	default:
		b.lost.Add(1)
		return ErrQueueFull
	}
}

// Subscribe implements hub.Broker: the topic is subscribed in Redis soon
// after (and again after every reconnection).
func (b *Broker) Subscribe(topic string) {
	b.mu.Lock()
	b.desired[topic] = struct{}{}
	if _, ok := b.fresh[topic]; !ok {
		b.fresh[topic] = hub.Position{}
		b.freshN.Store(int32(len(b.fresh)))
	}
	b.mu.Unlock()
	b.poke()
}

// Unsubscribe implements hub.Broker.
func (b *Broker) Unsubscribe(topic string) {
	b.mu.Lock()
	delete(b.desired, topic)
	delete(b.fresh, topic)
	b.freshN.Store(int32(len(b.fresh)))
	b.mu.Unlock()
	b.poke()
}

func (b *Broker) poke() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// Close stops the broker and closes its Redis clients. Messages still
// queued are dropped.
func (b *Broker) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.cancel()
	b.mu.Lock()
	if s := b.session; s != nil {
		_ = s.ps.Close() // unblocks the subscriber's read
	}
	b.mu.Unlock()
	b.wg.Wait()
	return errors.Join(b.pub.Close(), b.sub.Close())
}

// Subscribed reports whether Redis has confirmed this node's subscription
// to topic on the current connection.
func (b *Broker) Subscribed(topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.session == nil {
		return false
	}
	_, ok := b.session.confirmed[topic]
	return ok
}

// Stats is a snapshot of a broker's state and counters.
type Stats struct {
	Connected  bool   // the subscription connection is up
	Publishing bool   // the last attempt to publish succeeded (or none failed yet)
	Topics     int    // topics Redis confirmed on it
	Published  uint64 // messages Redis took
	Lost       uint64 // messages not sent to other nodes: queue full, or Redis unreachable
	Received   uint64 // messages from other nodes handed to the hub
	Own        uint64 // this node's messages coming back, dropped
	Invalid    uint64 // messages on our channels that were not ours to decode, dropped
	Reconnects uint64 // subscription connections made after the first
	RoundTrips uint64 // publishing round trips to Redis: one per message, or one per pipelined batch under load

	// History (topics with hub history rules, in Redis Streams).
	Unreplicated uint64 // history messages Redis did not take, delivered on this node only
	CaughtUp     uint64 // messages read from a stream to fill a gap (reconnection, lost message)
	Gaps         uint64 // gaps the stream no longer covered (trimmed, new epoch), reported to the hub
	Fetches      uint64 // history reads for recoveries

	// Loss markers: see the package documentation.
	LossPending   int    // topics with messages delivered on this node only, waiting for their marker
	LossMarkers   uint64 // loss markers this node appended to streams
	LossReports   uint64 // loss markers (any node's) handed to the hub: the topic's subscribers here were told
	LossOverflows uint64 // times more than Config.MaxLossTopics topics waited for a marker: every history topic with subscribers here got one

	// Presence.
	PresenceDropped uint64 // presence writes not made (queue full, Redis unreachable); the next refresh redoes additions
	PresenceExpired uint64 // members of dead nodes this node's sweeps removed
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	st := Stats{
		Published:  b.published.Load(),
		Lost:       b.lost.Load(),
		Received:   b.received.Load(),
		Own:        b.own.Load(),
		Invalid:    b.invalid.Load(),
		Reconnects: b.reconnects.Load(),
		RoundTrips: b.batches.Load(),
		Publishing: b.publishUp.Load(),

		Unreplicated: b.unreplicated.Load(),
		CaughtUp:     b.recovered.Load(),
		Gaps:         b.gaps.Load(),
		Fetches:      b.fetches.Load(),

		LossMarkers:   b.lossMarkers.Load(),
		LossReports:   b.lossReports.Load(),
		LossOverflows: b.lossOverflows.Load(),

		PresenceDropped: b.presDropped.Load(),
		PresenceExpired: b.presExpired.Load(),
	}
	b.lmu.Lock()
	st.LossPending = len(b.lossy) + b.lossFlight
	b.lmu.Unlock()
	b.mu.Lock()
	if b.session != nil {
		st.Connected = true
		st.Topics = len(b.session.confirmed)
	}
	b.mu.Unlock()
	return st
}

// publisher sends queued messages, pipelining what has piled up. While
// Redis is unreachable it drops messages until the next retry time, then
// tries again with the message in hand. Loss markers waiting go ahead of
// the next messages; with no message to send, it wakes to send them at
// the next retry time.
func (b *Broker) publisher() {
	defer b.wg.Done()
	batch := make([]outMsg, 0, maxBatch)
	var failures int
	var retryAt time.Time
	wake := time.NewTimer(time.Hour)
	wake.Stop()
	defer wake.Stop()
	for {
		var wakeC <-chan time.Time
		if b.lossPending.Load() {
			d := b.cfg.MinBackoff
			if failures > 0 {
				d = time.Until(retryAt)
			}
			wake.Reset(d)
			wakeC = wake.C
		}
		select {
		case m := <-b.queue:
			batch = append(batch[:0], m)
		case <-wakeC:
			batch = batch[:0]
		case <-b.ctx.Done():
			return
		}
		wake.Stop()
	fill:
		for len(batch) < maxBatch {
			select {
			case m := <-b.queue:
				batch = append(batch, m)
			default:
				break fill
			}
		}
		if failures > 0 && time.Now().Before(retryAt) {
			for i := range batch {
				switch {
				case batch[i].pres != nil:
					b.presDropped.Add(1)
					continue
				case batch[i].hist:
					b.localOnly(&batch[i])
				}
				b.lost.Add(1)
			}
			clear(batch)
			continue
		}
		err := b.send(batch)
		clear(batch)
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			if failures == 0 {
				b.log.Warn("redisbroker: publishing failed; messages for other nodes are dropped until Redis answers", "err", err)
				b.publishUp.Store(false)
			}
			retryAt = time.Now().Add(backoff(failures, b.cfg.MinBackoff, b.cfg.MaxBackoff))
			failures++
			continue
		}
		if failures > 0 {
			b.log.Info("redisbroker: publishing again")
			b.publishUp.Store(true)
		}
		failures = 0
	}
}

func (b *Broker) send(batch []outMsg) error {
	if b.lossPending.Load() {
		batch = append(b.takeLoss(), batch...)
	}
	if len(batch) == 0 {
		return nil
	}
	b.batches.Add(1)
	hist := false
	for i := range batch {
		hist = hist || batch[i].hist || batch[i].loss || batch[i].pres != nil
	}
	if len(batch) == 1 && !hist {
		err := b.pub.Publish(b.ctx, batch[0].channel, batch[0].data).Err()
		if err != nil {
			b.lost.Add(1)
		} else {
			b.published.Add(1)
		}
		return err
	}
	// One pipeline for the batch: PUBLISH, or the history script (EVALSHA).
	cmds, err := b.pipeline(batch)
	if err != nil && isNoScript(cmds) {
		// Redis restarted and forgot the scripts: a command answered
		// NOSCRIPT did not run, so loading them and sending those again
		// (only those: the others ran) is safe.
		if lerr := b.loadScripts(); lerr == nil {
			var again []outMsg
			var at []int
			for i, c := range cmds {
				if isNoScriptErr(c.Err()) {
					again = append(again, batch[i])
					at = append(at, i)
				}
			}
			more, rerr := b.pipeline(again)
			for k, c := range more {
				cmds[at[k]] = c
			}
			err = rerr
			for _, c := range cmds {
				if err == nil && c.Err() != nil {
					err = c.Err()
				}
			}
		}
	}
	var ok, bad uint64
	for i := range batch {
		m := &batch[i]
		failed := i >= len(cmds) || cmds[i].Err() != nil
		switch {
		case m.loss:
			var c redis.Cmder
			if i < len(cmds) {
				c = cmds[i]
			}
			b.lossSent(m, c, failed)
			continue
		case m.pres != nil:
			if failed {
				b.presDropped.Add(1)
			}
			continue
		case failed && m.hist:
			b.localOnly(m)
		case m.hist:
			b.numbered(m, cmds[i])
		}
		if failed {
			bad++
		} else {
			ok++
		}
	}
	b.published.Add(ok)
	b.lost.Add(bad)
	return err
}

func (b *Broker) pipeline(batch []outMsg) ([]redis.Cmder, error) {
	return b.pub.Pipelined(b.ctx, func(p redis.Pipeliner) error {
		for i := range batch {
			m := &batch[i]
			if m.loss {
				keys, args := b.lossArgs(m)
				lossScript.EvalSha(b.ctx, p, keys, args...)
			} else if m.pres != nil {
				keys, args := b.presArgs(m.pres)
				presScript.EvalSha(b.ctx, p, keys, args...)
			} else if m.hist {
				keys, args := b.appendArgs(m)
				appendScript.EvalSha(b.ctx, p, keys, args...)
			} else {
				p.Publish(b.ctx, m.channel, m.data)
			}
		}
		return nil
	})
}

func isNoScript(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if isNoScriptErr(c.Err()) {
			return true
		}
	}
	return false
}

func isNoScriptErr(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }

// loadScripts loads the broker's scripts into Redis (after a restart).
func (b *Broker) loadScripts() error {
	return errors.Join(appendScript.Load(b.ctx, b.pub).Err(), presScript.Load(b.ctx, b.pub).Err(),
		lossScript.Load(b.ctx, b.pub).Err())
}

// subscriber holds the subscription connection: it connects, hands the
// session to the syncer (which subscribes every wanted topic), reads
// messages until the connection is lost, and starts over after a backoff.
func (b *Broker) subscriber() {
	defer b.wg.Done()
	failures := 0
	sessions := 0
	for b.ctx.Err() == nil {
		err := b.runSession(sessions)
		if err == nil {
			sessions++
			failures = 0
		} else if failures == 0 {
			b.log.Warn("redisbroker: cannot reach Redis; retrying with backoff", "err", err)
		}
		if b.ctx.Err() != nil {
			return
		}
		wait := backoff(failures, b.cfg.MinBackoff, b.cfg.MaxBackoff)
		failures++
		select {
		case <-time.After(wait):
		case <-b.ctx.Done():
			return
		}
	}
}

// runSession runs one subscription connection until it is lost; the error
// says why it could not be made.
func (b *Broker) runSession(before int) error {
	ps := b.sub.Subscribe(b.ctx) // no channels yet: does not connect
	defer ps.Close()
	if err := ps.Ping(b.ctx); err != nil { // connects
		return err
	}
	s := &session{ps: ps, applied: make(map[string]struct{}), confirmed: make(map[string]struct{})}
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		return nil
	}
	b.session = s
	for t := range b.last {
		if _, want := b.desired[t]; !want {
			delete(b.last, t) // its stream is read afresh if it comes back
		}
	}
	b.mu.Unlock()
	if before > 0 {
		b.reconnects.Add(1)
		b.log.Info("redisbroker: subscription connection restored")
	}
	defer func() {
		b.mu.Lock()
		if b.session == s {
			b.session = nil
		}
		b.mu.Unlock()
	}()
	b.poke() // subscribe everything wanted on the new connection

	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(b.ctx, b.cfg.HealthCheck)
		if err != nil {
			if b.ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				if ps.Ping(b.ctx) == nil {
					pinged = true
					continue
				}
			}
			b.log.Warn("redisbroker: subscription connection lost; messages from other nodes are missed until it is back", "err", err)
			return nil
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			b.handle(m)
		case *redis.Subscription:
			topic, ok := strings.CutPrefix(m.Channel, b.prefix)
			if !ok {
				continue
			}
			b.mu.Lock()
			catch := false
			switch m.Kind {
			case "subscribe":
				if _, want := s.applied[topic]; want {
					s.confirmed[topic] = struct{}{}
					catch = true
				}
			case "unsubscribe":
				delete(s.confirmed, topic)
				// b.last[topic] stays: if the topic comes back, the gap is
				// filled from the stream.
			}
			b.mu.Unlock()
			if catch {
				// Its messages from here on come on this connection; what
				// was published before (while unsubscribed or disconnected)
				// comes from the stream.
				b.catchUp(topic)
			}
		}
	}
}

// handle delivers one message from Redis to the hub.
func (b *Broker) handle(m *redis.Message) {
	topic, ok := strings.CutPrefix(m.Channel, b.prefix)
	if !ok {
		b.invalid.Add(1)
		return
	}
	if len(m.Payload) > 0 && m.Payload[0] == posMarker {
		b.handlePositioned(topic, m.Payload)
		return
	}
	if len(m.Payload) > 0 && m.Payload[0] == lossMarker {
		b.handleLoss(topic, m.Payload)
		return
	}
	if len(m.Payload) > 0 && m.Payload[0] == eventMarker {
		b.handleEvent(topic, m.Payload)
		return
	}
	typ, node, payload, err := decode(m.Payload)
	if err != nil {
		b.invalid.Add(1)
		return
	}
	if node == string(b.node[:]) {
		b.own.Add(1)
		return
	}
	// The payload is only read during the call (the hub copies it into the
	// frame it encodes): no need to copy the string into a []byte.
	p := unsafe.Slice(unsafe.StringData(payload), len(payload))
	if typ == engine.Text && !codec.ValidUTF8(p) {
		b.invalid.Add(1)
		return
	}
	if d := b.deliver.Load(); d != nil {
		b.received.Add(1)
		(*d)(topic, typ, p)
	}
}

// beforeSubscribe, when set (by tests, before New), runs before each
// SUBSCRIBE the syncer sends.
var beforeSubscribe func(context.Context)

// syncer brings the live session's Redis subscriptions in line with the
// topics that have local subscribers, whenever either changes. A failed
// command closes the session; the subscriber then reconnects and the next
// session subscribes everything again.
func (b *Broker) syncer() {
	defer b.wg.Done()
	var add, del []string
	for {
		select {
		case <-b.kick:
		case <-b.ctx.Done():
			return
		}
		b.mu.Lock()
		s := b.session
		if s == nil {
			b.mu.Unlock()
			continue
		}
		add, del = add[:0], del[:0]
		for t := range b.desired {
			if _, ok := s.applied[t]; !ok {
				s.applied[t] = struct{}{}
				add = append(add, b.prefix+t)
			}
		}
		for t := range s.applied {
			if _, ok := b.desired[t]; !ok {
				delete(s.applied, t)
				delete(s.confirmed, t)
				del = append(del, b.prefix+t)
			}
		}
		b.mu.Unlock()
		var err error
		if len(add) > 0 && beforeSubscribe != nil {
			beforeSubscribe(b.ctx)
		}
		if len(add) > 0 {
			err = s.ps.Subscribe(b.ctx, add...)
		}
		if err == nil && len(del) > 0 {
			err = s.ps.Unsubscribe(b.ctx, del...)
		}
		if err != nil && b.ctx.Err() == nil {
			b.log.Warn("redisbroker: updating subscriptions failed; reconnecting", "err", err)
			_ = s.ps.Close()
		}
	}
}
