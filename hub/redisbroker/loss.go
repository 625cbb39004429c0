package redisbroker

import (
	"errors"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Loss markers. A history message Redis does not take (unreachable, or
// the outbound queue full) is delivered on this node only: the other
// nodes' subscribers never get it, and it is not in the history. The node
// remembers the topic, and once Redis takes its publishes again it appends
// a loss marker to the topic's stream, ahead of its next messages:
//
//	stream entry OFFSET-0, fields t (ms) and l (the node's ID, hex)
//	channel      0xB4 OFFSET ":" EPOCH
//
// The marker takes an offset like a message. Every node meeting it (on the
// channel, or in the stream when filling a gap) tells the topic's
// subscribers they missed messages (hub.StreamSink.Sync with lost), its
// own node's included; a recovery from a position before it is not
// complete (hub.HistoryEntry.Lost).
//
// At most Config.MaxLossTopics topics are remembered; past it, every
// history topic with subscribers on this node gets a marker instead
// (Stats.LossOverflows counts the times).
const lossMarker = 0xB4

// lossScript appends a loss marker: KEYS stream, meta; ARGV channel, size,
// stream TTL (ms), meta TTL (ms), node ID, epoch. It does nothing (returns
// 0) when the topic has no stream any more or its epoch is no longer the
// one the node knew when it lost messages ("" = any): the new epoch
// already tells every subscriber that the history was lost.
var lossScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[2], 'e')
if not e or (ARGV[6] ~= '' and e ~= ARGV[6]) then
  return 0
end
local o = redis.call('HINCRBY', KEYS[2], 'o', 1)
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], o .. '-0', 't', string.format('%d', ms), 'l', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[1], '\180' .. o .. ':' .. e)
return o
`)

// markLoss remembers that topic's subscribers on other nodes missed a
// message of this node's; epoch is the topic's epoch as this node knew it
// ("" when unknown). Any goroutine.
func (b *Broker) markLoss(topic, epoch string) {
	b.lmu.Lock()
	b.markLossLocked(topic, epoch)
	b.lmu.Unlock()
}

func (b *Broker) markLossLocked(topic, epoch string) {
	if old, ok := b.lossy[topic]; ok {
		if old == "" {
			b.lossy[topic] = epoch
		}
	} else if len(b.lossy) < b.cfg.MaxLossTopics {
		b.lossy[topic] = epoch
	} else if !b.lossAll {
		b.lossAll = true
		b.lossOverflows.Add(1)
	}
	b.lossPending.Store(true)
}

// takeLoss returns the loss markers to append now, and forgets them (a
// marker that fails is remembered again). On the publisher goroutine.
func (b *Broker) takeLoss() []outMsg {
	b.lmu.Lock()
	overflow := b.lossAll
	b.lmu.Unlock()
	var subscribed []string
	if overflow {
		b.mu.Lock()
		for t := range b.desired {
			subscribed = append(subscribed, t)
		}
		b.mu.Unlock()
	}
	b.lmu.Lock()
	defer b.lmu.Unlock()
	out := make([]outMsg, 0, len(b.lossy)+len(subscribed))
	for t, epoch := range b.lossy {
		out = b.appendLoss(out, t, epoch)
	}
	for _, t := range subscribed {
		if _, dup := b.lossy[t]; !dup {
			out = b.appendLoss(out, t, "")
		}
	}
	clear(b.lossy)
	b.lossFlight += len(out) // still pending (Stats) until lossSent
	if overflow {
		b.lossAll = false
	}
	b.lossPending.Store(b.lossAll)
	return out
}

func (b *Broker) appendLoss(out []outMsg, topic, epoch string) []outMsg {
	rule, ok := b.ruleOf(topic)
	if !ok {
		return out
	}
	return append(out, outMsg{loss: true, topic: topic, channel: b.prefix + topic, rule: rule, data: []byte(epoch)})
}

func (b *Broker) lossArgs(m *outMsg) ([]string, []any) {
	return []string{b.streamKey(m.topic), b.metaKey(m.topic)}, []any{
		m.channel, m.rule.Size, m.rule.TTL.Milliseconds(), metaTTL(m.rule).Milliseconds(), b.NodeID(), m.data,
	}
}

// lossSent counts a marker Redis appended, or remembers it again when it
// did not reach Redis. One that Redis refused (an error reply) is not
// retried: it would be refused again.
func (b *Broker) lossSent(m *outMsg, c redis.Cmder, failed bool) {
	b.lmu.Lock()
	b.lossFlight--
	if failed {
		var rerr redis.Error
		if c != nil && errors.As(c.Err(), &rerr) && !isNoScriptErr(c.Err()) {
			b.lmu.Unlock()
			b.log.Warn("redisbroker: Redis refused a loss marker", "topic", m.topic, "err", c.Err())
			return
		}
		b.markLossLocked(m.topic, string(m.data)) // under the same lock: Stats never sees it gone
		b.lmu.Unlock()
		return
	}
	b.lmu.Unlock()
	if cmd, ok := c.(*redis.Cmd); ok {
		if n, err := cmd.Int64(); err == nil && n > 0 {
			b.lossMarkers.Add(1)
		}
	}
}

// decodeLoss splits a loss marker from a channel: 0xB4 OFFSET ":" EPOCH.
func decodeLoss(s string) (off uint64, epoch string, ok bool) {
	if len(s) == 0 || s[0] != lossMarker {
		return 0, "", false
	}
	offs, epoch, ok := strings.Cut(s[1:], ":")
	off, err := strconv.ParseUint(offs, 10, 64)
	if !ok || err != nil || off == 0 || epoch == "" {
		return 0, "", false
	}
	return off, epoch, true
}
