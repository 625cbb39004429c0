// Package redisbroker is a hub.Broker over Redis Pub/Sub
// (github.com/redis/go-redis/v9): hubs on several nodes sharing one Redis
// act as one, each message published on a node reaching the topic's
// subscribers on every node.
//
//	b, err := redisbroker.New(redisbroker.Config{URL: "redis://127.0.0.1:6379"})
//	h, err := hub.New(hub.Config{Broker: b}) // the hub closes b
//
// # How
//
// Each topic is the Redis channel Config.Prefix+topic. A node SUBSCRIBEs to
// a channel only while it has local subscribers for the topic, and
// UNSUBSCRIBEs when the last one leaves, so nodes do not receive topics
// they do not serve. Every message carries the publishing node's random ID
// and its type (text or binary); a node drops its own messages coming back
// (the hub has already served its local subscribers).
//
// A broker holds two Redis connections (the publishing one also serves
// history and presence reads) and goroutines: one publishes
// (queued messages, pipelined when several are waiting), one holds the
// subscription connection and reads it, one keeps its subscriptions in line
// with the hub's topics. Publish only queues: it never blocks an event
// loop.
//
// # Delivery guarantees: at most once
//
// Across nodes a message is delivered at most once, never twice: Redis
// Pub/Sub keeps nothing for a subscriber that is not connected, and the
// broker never resends a PUBLISH (go-redis retries are off).
//
//   - Local delivery does not depend on Redis: while Redis is unreachable
//     each node goes on serving its own subscribers.
//   - Messages published across nodes while Redis (or a node's connection to
//     it) is down are lost, not replayed later. So are messages that find
//     the outbound queue full (Config.QueueSize; Publish returns
//     ErrQueueFull). Stats.Lost counts them on the publishing node.
//   - A lost connection is retried with capped exponential backoff with
//     jitter (Config.MinBackoff, MaxBackoff); on reconnection the broker
//     subscribes again to every topic that has local subscribers. A silent
//     subscription connection is checked with PING (Config.HealthCheck).
//   - Messages a node publishes reach each other node in publish order;
//     messages from different nodes have no order between them.
//
// These guarantees are for topics without history. For topics with
// history (hub.Config.History), the broker is a hub.HistoryBroker:
//
//   - Each topic's history is a Redis stream (PREFIX h:{TOPIC}, entry IDs
//     OFFSET-0, trimmed with XADD MAXLEN ~ Size, expiring TTL after its last
//     message) with its epoch and last offset in a hash (PREFIX m:{TOPIC}).
//     One Lua script per publish numbers the message, appends it and
//     PUBLISHes it with its position; messages waiting together go out in
//     one pipeline. Every node, the publishing one included, delivers a
//     message when it comes back on the channel: all nodes see the same
//     offsets in the same order.
//   - A node tracks the last offset it delivered per topic and fills any gap
//     (a dropped subscription connection, an outage) from the stream; what
//     the stream no longer has (trimmed, or a new epoch after Redis lost its
//     data) is reported to the hub, which tells the topic's subscribers.
//   - Recoveries older than what a node has seen read the stream (Fetch) on
//     the broker's fetcher goroutine.
//   - A publish Redis does not take (unreachable, or the outbound queue
//     full) is delivered on this node only, unnumbered
//     (Stats.Unreplicated): the other nodes' subscribers never get it.
//     They are told: the node remembers the topic (at most
//     Config.MaxLossTopics of them) and, once Redis takes its publishes
//     again, appends a loss marker to the topic's stream ahead of its next
//     messages, one per topic per outage (Stats.LossMarkers). The marker
//     takes an offset; every node meeting it, live or filling a gap, tells
//     the topic's subscribers they missed messages (Recovered false with
//     the marker's position; Stats.LossReports), the publishing node's own
//     included, and a recovery from a position before it is not complete
//     (hub.HistoryEntry.Lost). When Redis came back with a new epoch, the
//     new epoch already says so and no marker is added.
//
// Presence (hub.PresenceBroker): a topic's members are a hash and a sorted
// set scored by expiry; each node refreshes its own members every
// PresenceTTL/3 and sweeps expired ones atomically, sending one snapshot
// event instead of a leave per member of a dead node.
//
// A broker runs five goroutines: publisher, subscriber, subscription sync,
// history fetcher and presence. docs/scaling.md discusses what a client
// should do on reconnect.
package redisbroker
