package redisbroker

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-ws/switchboard/hub"
)

// Presence in Redis (hub.PresenceBroker). For a topic:
//
//	PREFIX p:{TOPIC}    hash: member ID -> info
//	PREFIX pz:{TOPIC}   sorted set: member ID, scored by when it expires (ms)
//
// Each node refreshes its own members' scores every PresenceTTL/3, so a
// node that dies leaves entries that expire after PresenceTTL. Every node
// sweeps the expired entries of the topics it serves with one script; the
// node whose sweep removes some sends one hub.Snapshot event (the members
// left) instead of a leave per vanished member. Counting is ZCOUNT on the
// live scores: O(log n).
const (
	DefaultPresenceTTL = 30 * time.Second
	eventMarker        = 0xB3
	presenceBatch      = 512
)

// presScript adds (ARGV[1] = "1") or removes a member: KEYS hash, zset;
// ARGV add, id, info, expiry (ms), keys' TTL (ms).
var presScript = redis.NewScript(`
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
else
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 1
`)

var sweepScript = redis.NewScript(`
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if #gone == 0 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, id in ipairs(gone) do redis.call('HDEL', KEYS[1], id) end
return #gone
`)

func (b *Broker) presKey(topic string) string  { return b.prefix + "p:{" + topic + "}" }
func (b *Broker) presZKey(topic string) string { return b.prefix + "pz:{" + topic + "}" }

type presOp struct {
	topic string
	m     hub.Member
	add   bool
}

// presenceReg is this node's members, refreshed in Redis.
type presenceReg struct {
	mu      sync.Mutex
	members map[string]map[string][]byte // topic -> id -> info
}

// AttachPresence implements hub.PresenceBroker.
func (b *Broker) AttachPresence(sink hub.PresenceSink) error {
	if b.psink.Load() != nil {
		return hub.ErrAttached
	}
	b.psink.Store(&sink)
	return nil
}

// AddMember implements hub.PresenceBroker: queued, written by the
// presence goroutine.
func (b *Broker) AddMember(topic string, m hub.Member) {
	b.preg.mu.Lock()
	t := b.preg.members[topic]
	if t == nil {
		t = make(map[string][]byte)
		b.preg.members[topic] = t
	}
	t[m.ID] = m.Info
	b.preg.mu.Unlock()
	b.presOp(presOp{topic: topic, m: m, add: true})
}

// RemoveMember implements hub.PresenceBroker.
func (b *Broker) RemoveMember(topic, id string) {
	b.preg.mu.Lock()
	if t := b.preg.members[topic]; t != nil {
		delete(t, id)
		if len(t) == 0 {
			delete(b.preg.members, topic)
		}
	}
	b.preg.mu.Unlock()
	b.presOp(presOp{topic: topic, m: hub.Member{ID: id}})
}

// presOp queues a presence change with the publishes: a join or leave
// event this node publishes after it reaches Redis after the change, so a
// client that hears of a join finds the member in the presence.
func (b *Broker) presOp(op presOp) {
	select {
	case b.queue <- outMsg{pres: &op}:
	default:
		// The queue is full (Redis slow or away): the next refresh writes
		// every member again; a removal is then left to expire.
		b.presDropped.Add(1)
	}
}

// expiry is when a member written now expires: rounded up to the sweep
// interval, so the members of a node that dies expire together and one
// sweep removes them all.
func expiry(ttl time.Duration) int64 {
	step := max(ttl.Milliseconds()/3, 1)
	at := time.Now().Add(ttl).UnixMilli()
	return (at + step - 1) / step * step
}

// presArgs is presScript's keys and arguments for op.
func (b *Broker) presArgs(op *presOp) ([]string, []any) {
	keys := []string{b.presKey(op.topic), b.presZKey(op.topic)}
	if !op.add {
		return keys, []any{"0", op.m.ID, "", 0, 0}
	}
	ttl := b.cfg.PresenceTTL
	return keys, []any{"1", op.m.ID, op.m.Info, expiry(ttl), (2 * ttl).Milliseconds()}
}

// Members implements hub.PresenceBroker.
func (b *Broker) Members(ctx context.Context, topic string) ([]hub.Member, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	var all *redis.MapStringStringCmd
	var live *redis.StringSliceCmd
	_, err := b.pub.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, b.presKey(topic))
		live = p.ZRangeByScore(ctx, b.presZKey(topic), &redis.ZRangeBy{Min: "(" + now, Max: "+inf"})
		return nil
	})
	if err != nil {
		return nil, err
	}
	info := all.Val()
	out := make([]hub.Member, 0, len(live.Val()))
	for _, id := range live.Val() {
		if v, ok := info[id]; ok {
			out = append(out, hub.Member{ID: id, Info: []byte(v)})
		}
	}
	return out, nil
}

// MemberCount implements hub.PresenceBroker: one ZCOUNT.
func (b *Broker) MemberCount(ctx context.Context, topic string) (int, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	n, err := b.pub.ZCount(ctx, b.presZKey(topic), "("+now, "+inf").Result()
	return int(n), err
}

// PublishEvent implements hub.PresenceBroker: the event goes out with the
// other publishes, in order with them.
func (b *Broker) PublishEvent(topic string, payload []byte) error {
	if b.closed.Load() {
		return ErrClosed
	}
	data := encode(&b.node, 1, payload)
	data[0] = eventMarker
	select {
	case b.queue <- outMsg{channel: b.prefix + topic, data: data}:
		return nil
	default:
		b.lost.Add(1)
		return ErrQueueFull
	}
}

// handleEvent hands another node's presence event to the hub.
func (b *Broker) handleEvent(topic, s string) {
	if len(s) < envHeader {
		b.invalid.Add(1)
		return
	}
	if s[2:envHeader] == string(b.node[:]) {
		b.own.Add(1)
		return
	}
	if sink := b.psink.Load(); sink != nil {
		(*sink).DeliverEvent(topic, []byte(s[envHeader:]))
	}
}

// presenceLoop refreshes this node's members every PresenceTTL/3 and
// sweeps expired entries of the topics this node serves.
func (b *Broker) presenceLoop() {
	defer b.wg.Done()
	ttl := b.cfg.PresenceTTL
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			b.refreshPresence(ttl)
			b.sweepPresence()
		case <-b.ctx.Done():
			return
		}
	}
}

func (b *Broker) writePresence(ops []presOp) {
	_, err := b.pub.Pipelined(b.ctx, func(p redis.Pipeliner) error {
		for i := range ops {
			keys, args := b.presArgs(&ops[i])
			presScript.EvalSha(b.ctx, p, keys, args...)
		}
		return nil
	})
	if err != nil {
		if isNoScriptErr(err) && b.loadScripts() == nil {
			b.writePresence(ops)
			return
		}
		b.presDropped.Add(uint64(len(ops)))
	}
}

// refreshPresence pushes the expiry of every member of this node.
func (b *Broker) refreshPresence(ttl time.Duration) {
	var ops []presOp
	b.preg.mu.Lock()
	for topic, t := range b.preg.members {
		for id, info := range t {
			ops = append(ops, presOp{topic: topic, m: hub.Member{ID: id, Info: info}, add: true})
		}
	}
	b.preg.mu.Unlock()
	for len(ops) > 0 && b.ctx.Err() == nil {
		n := min(len(ops), presenceBatch)
		b.writePresence(ops[:n])
		ops = ops[n:]
	}
}

// sweepPresence removes the expired members of the topics this node
// serves and, where some were removed, sends one Snapshot event.
func (b *Broker) sweepPresence() {
	b.mu.Lock()
	topics := make([]string, 0, len(b.desired))
	for t := range b.desired {
		topics = append(topics, t)
	}
	b.mu.Unlock()
	sink := b.psink.Load()
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	for _, t := range topics {
		n, err := sweepScript.Run(b.ctx, b.pub, []string{b.presKey(t), b.presZKey(t)}, now).Int()
		if err != nil || n == 0 || sink == nil {
			continue
		}
		b.presExpired.Add(uint64(n))
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		members, err := b.Members(ctx, t)
		cancel()
		if err == nil {
			(*sink).Expired(t, members)
		}
	}
}
