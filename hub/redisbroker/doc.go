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
// A broker holds two Redis connections and three goroutines: one publishes
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
// Clients that must not miss messages need an application-level sequence
// or a store to catch up from after a reconnect; docs/scaling.md discusses
// what a client should do.
package redisbroker
