// Package metrics exposes a switchboard server's statistics to Prometheus.
//
// A Collector reads the Stats snapshots of an engine.Server, a hub.Hub and a
// redisbroker.Broker when Prometheus scrapes, and nothing else: the hot path
// pays nothing for it (the counters it reads are the atomics the engine and
// the hub keep anyway). Register one per server:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.New(metrics.Config{Engine: srv, Hub: h, Broker: b}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Serve it on a separate, private listener, not on the WebSocket port.
//
// # Metrics
//
// Engine (Config.Engine, engine.Stats):
//
//	switchboard_connections                     gauge    connections open now, handshaking ones included
//	switchboard_connections_limit               gauge    the connection ceiling in force (MaxConnections)
//	switchboard_upgrades_total                  counter  WebSocket upgrades completed
//	switchboard_rejections_total{reason}        counter  connections/handshakes refused, by reason
//	switchboard_closes_total{code}              counter  upgraded connections closed, by close code
//	switchboard_close_causes_total{cause}       counter  upgraded connections closed, by cause
//	switchboard_messages_received_total         counter  data messages received
//	switchboard_received_payload_bytes_total    counter  payload bytes of those messages
//	switchboard_frames_sent_total               counter  frames written (data and control)
//	switchboard_sent_bytes_total                counter  bytes written, frame headers included
//	switchboard_outbound_dropped_total          counter  outbound messages dropped (PolicyDrop)
//	switchboard_rate_limited_total              counter  inbound messages over the rate limits
//	switchboard_inbound_buffered_bytes          gauge    payload bytes held in incomplete messages now
//	switchboard_inbound_buffered_peak_bytes     gauge    the most held at once since start
//	switchboard_inbound_budget_bytes            gauge    the server-wide bound on them (InboundBudget)
//	switchboard_inbound_budget_refused_total    counter  connections closed 1013 at the budget
//	switchboard_pending_upgrades                gauge    deferred upgrade decisions awaited now (MaxPendingUpgrades)
//
// Hub (Config.Hub, hub.Stats):
//
//	switchboard_hub_topics                      gauge    topics with subscribers on this node
//	switchboard_hub_subscriptions               gauge    subscriptions on this node
//	switchboard_hub_published_total             counter  Publish calls on this node
//	switchboard_hub_received_total              counter  messages from other nodes through the broker
//	switchboard_hub_delivered_total             counter  frames written to subscribers
//	switchboard_hub_dropped_total               counter  subscriber copies not written
//	switchboard_hub_overflows_total             counter  (publish, loop) pairs dropped: loop queue full
//
// Hub history (hub.HistoryStats; reported when Config.Hub also has
// History(), as a *hub.Hub does):
//
//	switchboard_hub_history_streams             gauge    topics with a history stream on this node
//	switchboard_hub_history_entries             gauge    messages held in the in-memory history
//	switchboard_hub_history_bytes               gauge    bytes counted against MaxHistoryBytes
//	switchboard_hub_history_evicted_total       counter  entries dropped early for the memory bound
//	switchboard_hub_history_replayed_total      counter  messages delivered from history by recoveries
//	switchboard_hub_recoveries_total            counter  subscriptions from a position, fully recovered
//	switchboard_hub_recoveries_failed_total     counter  subscriptions from a position that could not recover
//	switchboard_hub_lost_reports_total          counter  reports to live subscribers of undeliverable messages
//
// Redis broker (Config.Broker, redisbroker.Stats):
//
//	switchboard_redis_connected                 gauge    1 while the subscription connection is up
//	switchboard_redis_publishing                gauge    1 while publishing to Redis succeeds
//	switchboard_redis_topics                    gauge    channels Redis confirmed
//	switchboard_redis_published_total           counter  messages Redis took
//	switchboard_redis_lost_total                counter  messages not sent to other nodes
//	switchboard_redis_received_total            counter  messages from other nodes handed to the hub
//	switchboard_redis_own_total                 counter  this node's own messages coming back, dropped
//	switchboard_redis_invalid_total             counter  undecodable messages on our channels, dropped
//	switchboard_redis_reconnects_total          counter  subscription connections made after the first
//	switchboard_redis_round_trips_total         counter  publishing round trips (per message or per batch)
//	switchboard_redis_unreplicated_total        counter  history messages delivered on this node only
//	switchboard_redis_caught_up_total           counter  messages read from a stream to fill a gap
//	switchboard_redis_gaps_total                counter  gaps the stream no longer covered, reported
//	switchboard_redis_history_fetches_total     counter  history reads for recoveries
//	switchboard_redis_presence_dropped_total    counter  presence writes not made
//	switchboard_redis_presence_expired_total    counter  members of dead nodes removed by sweeps
//	switchboard_redis_loss_pending              gauge    topics waiting for their loss marker
//	switchboard_redis_loss_markers_total        counter  loss markers this node appended
//	switchboard_redis_loss_reports_total        counter  loss markers told to this node's subscribers
//
// A labelled series appears with its first event: a reason, code or cause
// that never happened has no series. Process and Go runtime figures (RSS,
// open descriptors, heap, goroutines) come from the client library's
// collectors.NewProcessCollector and collectors.NewGoCollector; register
// them next to this one. docs/operations.md says what to watch and alert on.
package metrics
