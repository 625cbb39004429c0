package redisbroker

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-ws/switchboard/engine"
	"github.com/switchboard-ws/switchboard/hub"
)

// History in Redis (hub.HistoryBroker). For a topic with history:
//
//	PREFIX m:{TOPIC}   hash: e = epoch, o = last offset
//	PREFIX h:{TOPIC}   stream: entry ID OFFSET-0, fields t (ms) and d (envelope)
//
// One script per publish numbers the message, appends it to the stream
// (XADD MAXLEN ~ Size), refreshes the keys' expiry and PUBLISHes it with
// its position, atomically: the channel carries each topic's messages in
// offset order. Publishes waiting together go in one pipeline.
const (
	posMarker       = 0xB2
	defaultFetchMax = 64 // Fetch calls waiting for the fetcher
	minMetaTTL      = time.Hour
)

var appendScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[2], 'e')
if not e then
  e = ARGV[2]
  redis.call('HSET', KEYS[2], 'e', e)
end
local o = redis.call('HINCRBY', KEYS[2], 'o', 1)
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], o .. '-0', 't', string.format('%d', ms), 'd', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[1], '\178' .. o .. ':' .. e .. ':' .. ARGV[6])
return {o, e}
`)

func (b *Broker) metaKey(topic string) string   { return b.prefix + "m:{" + topic + "}" }
func (b *Broker) streamKey(topic string) string { return b.prefix + "h:{" + topic + "}" }

func metaTTL(r hub.HistoryRule) time.Duration { return max(10*r.TTL, minMetaTTL) }

// AttachStreams implements hub.HistoryBroker.
func (b *Broker) AttachStreams(sink hub.StreamSink, rule func(topic string) (hub.HistoryRule, bool)) error {
	if b.sink.Load() != nil {
		return hub.ErrAttached
	}
	b.ruleOf = rule
	b.sink.Store(&sink)
	return nil
}

// Append implements hub.HistoryBroker: the message is queued and numbered
// by Redis; every node (this one included) delivers it when it comes back
// on the topic's channel. A message Redis does not take is delivered on
// this node only, unnumbered.
func (b *Broker) Append(topic string, rule hub.HistoryRule, typ engine.MessageType, payload []byte, done func(hub.Position, error)) error {
	if b.closed.Load() {
		return ErrClosed
	}
	m := outMsg{channel: b.prefix + topic, data: encode(&b.node, typ, payload), topic: topic, hist: true, rule: rule, done: done}
	select {
	case b.queue <- m:
		return nil
	default:
		b.lost.Add(1)
		b.markLoss(topic, "") // the hub delivers it here only
		return ErrQueueFull
	}
}

// localOnly hands a history message Redis did not take back to this node,
// and remembers the topic for a loss marker.
func (b *Broker) localOnly(m *outMsg) {
	b.unreplicated.Add(1)
	sink := b.sink.Load()
	epoch := ""
	if sink != nil {
		if pos, ok := (*sink).Position(m.topic); ok {
			epoch = pos.Epoch
		}
	}
	b.markLoss(m.topic, epoch)
	if m.done != nil {
		m.done(hub.Position{}, hub.ErrNotReplicated)
	}
	if sink == nil {
		return
	}
	typ, _, payload, err := decode(string(m.data))
	if err != nil {
		return
	}
	(*sink).Deliver(m.topic, typ, []byte(payload), hub.Position{})
}

// appendArgs is the script's keys and arguments for m.
func (b *Broker) appendArgs(m *outMsg) ([]string, []any) {
	return []string{b.streamKey(m.topic), b.metaKey(m.topic)}, []any{
		m.channel, newEpoch(), m.rule.Size, m.rule.TTL.Milliseconds(), metaTTL(m.rule).Milliseconds(), m.data,
	}
}

// Fetch implements hub.HistoryBroker: the read is done by the broker's
// fetcher goroutine; done is called from it. Past Config.FetchQueue
// waiting reads, done is called at once with an error.
func (b *Broker) Fetch(topic string, rule hub.HistoryRule, after uint64, done func(hub.FetchResult)) {
	if b.closed.Load() {
		done(hub.FetchResult{Err: ErrClosed})
		return
	}
	select {
	case b.fetchq <- fetchReq{topic: topic, rule: rule, after: after, done: done}:
	default:
		done(hub.FetchResult{Err: errors.New("redisbroker: too many history reads waiting")})
	}
}

type fetchReq struct {
	topic string
	rule  hub.HistoryRule
	after uint64
	done  func(hub.FetchResult)
}

func (b *Broker) fetcher() {
	defer b.wg.Done()
	for {
		select {
		case r := <-b.fetchq:
			res := b.read(r.topic, r.rule, r.after, false)
			b.fetches.Add(1)
			r.done(res)
		case <-b.ctx.Done():
			for {
				select {
				case r := <-b.fetchq:
					r.done(hub.FetchResult{Err: ErrClosed})
				default:
					return
				}
			}
		}
	}
}

// read reads topic's position and, unless metaOnly, its entries after
// after (at most the rule's size plus a margin for MAXLEN ~), in one
// MULTI/EXEC: the position and the entries agree. The topic's epoch is
// created if the topic has none yet.
func (b *Broker) read(topic string, rule hub.HistoryRule, after uint64, metaOnly bool) hub.FetchResult {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	meta := b.metaKey(topic)
	var hm *redis.SliceCmd
	var xr *redis.XMessageSliceCmd
	var now *redis.TimeCmd
	_, err := b.pub.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSetNX(ctx, meta, "e", newEpoch())
		p.PExpire(ctx, meta, metaTTL(rule))
		hm = p.HMGet(ctx, meta, "e", "o")
		now = p.Time(ctx)
		if !metaOnly {
			xr = p.XRangeN(ctx, b.streamKey(topic), "("+strconv.FormatUint(after, 10)+"-0", "+", int64(rule.Size)+200)
		}
		return nil
	})
	if err != nil {
		return hub.FetchResult{Err: err}
	}
	vals := hm.Val()
	var res hub.FetchResult
	if len(vals) == 2 {
		res.Epoch, _ = vals[0].(string)
		if o, ok := vals[1].(string); ok {
			res.Top, _ = strconv.ParseUint(o, 10, 64)
		}
	}
	res.First = res.Top + 1
	if metaOnly {
		return res
	}
	cut := now.Val().Add(-rule.TTL).UnixMilli()
	for _, x := range xr.Val() {
		off, ok := strings.CutSuffix(x.ID, "-0")
		if !ok {
			continue
		}
		o, err := strconv.ParseUint(off, 10, 64)
		if err != nil {
			continue
		}
		if ms, _ := strconv.ParseInt(str(x.Values["t"]), 10, 64); ms < cut {
			continue // older than the rule's TTL
		}
		e := hub.HistoryEntry{Offset: o}
		if _, lost := x.Values["l"]; lost {
			e.Lost = true // a loss marker (loss.go)
		} else {
			typ, _, payload, err := decode(str(x.Values["d"]))
			if err != nil {
				continue
			}
			e.Type, e.Payload = typ, []byte(payload)
		}
		if len(res.Entries) == 0 {
			res.First = o
		}
		res.Entries = append(res.Entries, e)
	}
	if len(res.Entries) == 0 && after < res.Top {
		res.First = res.Top + 1 // nothing after `after` is left
	}
	return res
}

func str(v any) string { s, _ := v.(string); return s }

// numbered tells m's publisher the position the script returned, and
// notes it while the topic's first catch-up is pending (see takeFresh).
func (b *Broker) numbered(m *outMsg, c redis.Cmder) {
	if m.done == nil && b.freshN.Load() == 0 {
		return
	}
	var pos hub.Position
	if cmd, ok := c.(*redis.Cmd); ok {
		if v, err := cmd.Slice(); err == nil && len(v) == 2 {
			if o, ok := v[0].(int64); ok {
				pos.Offset = uint64(o)
			}
			pos.Epoch = str(v[1])
		}
	}
	if b.freshN.Load() > 0 && pos.Offset > 0 {
		b.mu.Lock()
		if p, ok := b.fresh[m.topic]; ok && p.IsZero() {
			b.fresh[m.topic] = pos
		}
		b.mu.Unlock()
	}
	if m.done != nil {
		m.done(pos, nil)
	}
}

// takeFresh ends topic's first catch-up: it returns the first position
// this node's own publishes got since the topic was subscribed (zero:
// none). A client that joins a room and speaks at once publishes before
// Redis has confirmed this node's subscription; its message is then
// delivered here from the stream instead of being missed.
func (b *Broker) takeFresh(topic string) hub.Position {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.fresh[topic]
	if ok {
		delete(b.fresh, topic)
		b.freshN.Store(int32(len(b.fresh)))
	}
	return p
}

// catchUp brings this node's view of topic in line with Redis (on the
// subscriber goroutine): when it starts receiving the topic, after a
// reconnection, and when a message shows a gap. It delivers the messages
// it missed from the stream, or tells the hub they are lost.
func (b *Broker) catchUp(topic string) {
	sink := b.sink.Load()
	rule, ok := b.ruleOf(topic)
	if sink == nil || !ok {
		return
	}
	last, known := b.last[topic]
	if known {
		b.takeFresh(topic)
	}
	for range 4 { // a page at a time while the stream runs ahead
		res := b.read(topic, rule, last.Offset, !known)
		if res.Err != nil {
			if b.ctx.Err() == nil {
				b.log.Warn("redisbroker: reading history failed", "topic", topic, "err", res.Err)
			}
			return
		}
		cur := hub.Position{Offset: res.Top, Epoch: res.Epoch}
		if !known {
			if own := b.takeFresh(topic); own.Epoch == res.Epoch && own.Offset > 0 && own.Offset <= res.Top {
				// Deliver from this node's first own message on.
				last, known = hub.Position{Offset: own.Offset - 1, Epoch: own.Epoch}, true
				continue
			}
			b.last[topic] = cur
			(*sink).Sync(topic, cur, false)
			return
		}
		if res.Epoch != last.Epoch {
			// A new stream (Redis lost its data): what this node missed of
			// the old one is gone; the new one is delivered from its start.
			b.gaps.Add(1)
			last = hub.Position{Epoch: res.Epoch}
			b.last[topic] = last
			(*sink).Sync(topic, last, true)
			continue
		}
		if res.Top < last.Offset || (last.Offset < res.Top && res.First != last.Offset+1) {
			// Trimmed past what this node has: what it missed cannot be
			// delivered.
			b.gaps.Add(1)
			b.last[topic] = cur
			(*sink).Sync(topic, cur, true)
			return
		}
		for _, e := range res.Entries {
			if e.Offset != last.Offset+1 {
				break
			}
			last.Offset = e.Offset
			if e.Lost {
				b.lossReports.Add(1)
				b.last[topic] = last
				(*sink).Sync(topic, last, true)
				continue
			}
			b.recovered.Add(1)
			(*sink).Deliver(topic, e.Type, e.Payload, last)
		}
		b.last[topic] = last
		if last.Offset >= res.Top || len(res.Entries) == 0 {
			return
		}
	}
}

// handlePositioned delivers a numbered message from the channel (on the
// subscriber goroutine), filling a gap before it from the stream.
func (b *Broker) handlePositioned(topic, s string) {
	off, epoch, typ, payload, ok := decodePositioned(s)
	if !ok {
		b.invalid.Add(1)
		return
	}
	b.handleNumbered(topic, off, epoch, false, typ, payload)
}

// handleLoss tells the hub about a loss marker from the channel (on the
// subscriber goroutine), filling a gap before it from the stream.
func (b *Broker) handleLoss(topic, s string) {
	off, epoch, ok := decodeLoss(s)
	if !ok {
		b.invalid.Add(1)
		return
	}
	b.handleNumbered(topic, off, epoch, true, 0, "")
}

// handleNumbered handles the message or loss marker (lost) at off.
func (b *Broker) handleNumbered(topic string, off uint64, epoch string, lost bool, typ engine.MessageType, payload string) {
	sink := b.sink.Load()
	if sink == nil {
		return
	}
	if _, ok := b.ruleOf(topic); !ok {
		b.invalid.Add(1)
		return
	}
	last, known := b.last[topic]
	if !known || epoch != last.Epoch || off > last.Offset+1 {
		b.catchUp(topic)
		last = b.last[topic]
	}
	if epoch != last.Epoch || off <= last.Offset {
		return // delivered by catchUp, or from before a reset
	}
	pos := hub.Position{Offset: off, Epoch: epoch}
	if off != last.Offset+1 {
		b.gaps.Add(1)
		if !lost { // a marker reports it below
			(*sink).Sync(topic, hub.Position{Offset: off - 1, Epoch: epoch}, true)
		}
	}
	b.last[topic] = pos
	if lost {
		b.lossReports.Add(1)
		(*sink).Sync(topic, pos, true)
		return
	}
	b.received.Add(1)
	(*sink).Deliver(topic, typ, unsafe.Slice(unsafe.StringData(payload), len(payload)), pos)
}

// decodePositioned splits a numbered message from a channel:
// 0xB2 OFFSET ":" EPOCH ":" ENVELOPE (the envelope of encode). payload
// aliases s.
func decodePositioned(s string) (off uint64, epoch string, typ engine.MessageType, payload string, ok bool) {
	if len(s) == 0 || s[0] != posMarker {
		return 0, "", 0, "", false
	}
	offs, rest, ok1 := strings.Cut(s[1:], ":")
	epoch, env, ok2 := strings.Cut(rest, ":")
	off, err := strconv.ParseUint(offs, 10, 64)
	typ, _, payload, derr := decode(env)
	if !ok1 || !ok2 || err != nil || derr != nil || off == 0 || epoch == "" {
		return 0, "", 0, "", false
	}
	return off, epoch, typ, payload, true
}

func newEpoch() string {
	// A fresh epoch is proposed by each write; Redis keeps the first one.
	return strconv.FormatInt(time.Now().UnixNano(), 36) + strconv.FormatUint(uint64(rand.Uint32()), 36)
}
