// Package hub keeps topics (rooms) of WebSocket connections and publishes
// to them: each message is encoded once and written by the event loops that
// serve its subscribers.
//
//	h, _ := hub.New(hub.Config{})                 // or hub.Config{Broker: ...}
//	srv, _ := engine.New(cfg, h.Handler(app))      // leaves every topic on close
//	// in app.OnOpen:    h.Subscribe(c, "lobby")
//	// anywhere:         h.Publish("lobby", engine.Text, payload)
//
// # What runs where
//
// A hub keeps, for each event loop, the subscriber lists of that loop's
// connections, touched only on that loop. Subscribe, Unsubscribe and
// UnsubscribeAll called on the connection's loop (inside a Handler callback)
// take effect at once; from another goroutine they are handed to the loop,
// in order with the publishes handed to it. No call blocks, and the hub
// starts no goroutine of its own (a Broker may).
//
// Publish encodes the frame once (codec.NewPreparedFrame) and hands it to
// each loop with subscribers: one queue entry per loop, one wake-up per loop
// for however many entries are pending. On the publisher's own loop the
// writes usually happen before Publish returns (they queue behind work
// handed to the loop earlier, if any). No lock is held while writing: the
// topic registry's lock is taken only to look a topic up.
//
// # Guarantees
//
//   - Once Subscribe returns, every Publish that starts afterwards reaches
//     the connection (until it unsubscribes or closes).
//   - Messages published to a topic from one goroutine reach each
//     subscriber in that order; so do messages from one node through a
//     Broker that keeps order (Bus and redisbroker do).
//   - A slow subscriber holds up no one: the engine's outbound limit
//     applies to each subscriber (Config.MaxOutbound, OutboundPolicy:
//     PolicyClose closes it with 1008, PolicyDrop drops its copy) and the
//     topic counts each missed copy in TopicStats.Dropped.
//   - Publish never blocks. If an event loop falls so far behind that its
//     queue passes Config.MaxQueued or MaxQueuedBytes (its CPU cannot keep
//     up with the publish rate), that loop's subscribers miss the publish,
//     counted in Overflows.
//   - A closed connection leaves every topic: through the wrapper returned
//     by Handler, or at the latest when a publish finds it closed.
//
// # Costs
//
// A publish allocates the frame once, whatever the number of subscribers;
// waking each loop costs two more allocations inside gnet
// (EventLoop.Execute), so a publish to subscribers on L loops allocates at
// most 1+2L objects (the package's tests and benchmarks check it). With
// permessage-deflate, subscribers whose connection takes a shared
// compressed frame (engine.Conn.SharedDeflate: server_no_context_takeover,
// or context takeover with the server's window) get one frame compressed
// once per publish, alone, within the server's window
// (engine.Loop.SharedDeflateBits, codec.NewPreparedFrameDeflate), on the
// publisher's goroutine: one more allocation, whatever their number; the
// others (no deflate, or a client that asked for a smaller window) get the
// plain frame.
// Delivery itself is one write(2) per subscriber, from the loop that owns
// it.
//
// A subscription costs the hub about 94 bytes of heap when it is a
// connection's first (the per-connection record included) and about 33
// bytes for each further one, measured at 10,000 real connections. On the
// project's 2-core machine, fanning one 64-byte message out to 10,000
// subscribers on 2 event loops took 73–88 ms at the
// median and 147–180 ms at p99 (two runs of 200 publishes), from Publish to
// the last client's read, with the clients in a second process on the same
// 2 cores; the time goes to the kernel, one write(2) per subscriber and one
// read(2) per client, not to the hub. docs/scaling.md has the figures and
// how to reproduce them.
//
// # Several nodes
//
// A Broker carries publishes between nodes: the hub tells it which topics
// have local subscribers (so a node receives only those) and hands it every
// local publish; it delivers the other nodes' messages to the hub. With no
// broker a hub serves its node only. Bus joins hubs in one process;
// package redisbroker joins nodes through Redis Pub/Sub, at most once, and
// keeps history (Streams) and presence for every node.
//
// # History and recovery
//
// Config.History turns history on for the topics matching a rule: each
// message gets a Position (an offset counting the topic's messages, and
// the topic's epoch, which changes when the history is lost) and the last
// Size messages younger than TTL are kept, in memory (bounded for the whole
// hub by MaxHistoryBytes) or by a HistoryBroker for every node.
// SubscribeWith with SubscribeOptions.Since writes what a client missed
// after its last position, then the live messages, with no gap and no
// duplicate even while publishes race: the recovery reads the history on
// the connection's loop under the topic's lock, and a publish numbers,
// stores and queues its message for the loops under the same lock, so each
// message is either in what the recovery read or queued behind it (and
// then skipped for that connection). When the history no longer covers the
// position, Config.OnRecovery is told and the connection is subscribed live
// all the same. Config.Envelope puts the position in what subscribers
// receive.
//
// With history a publish is handed to the loops' queues, never written
// inline by the publisher; it allocates the same as without (the frame,
// which the history keeps, and the loops' wake-ups).
//
// # Presence
//
// A subscription made with SubscribeOptions.Info is a member of the
// topic's presence (Presence, PresenceCount, across nodes with a
// PresenceBroker); Config.PresenceEvent turns on join and leave events. A
// node that dies sends no leaves: its members expire in the broker and one
// Snapshot event replaces them.
package hub
