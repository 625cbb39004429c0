// Package pmd is the message-level compression layer of permessage-deflate
// (RFC 7692 §7.2): Deflate compresses a whole message payload and strips the
// trailing 0x00 0x00 0xff 0xff; Inflate appends that tail (and an empty final
// block) and inflates into a caller's buffer under a hard size limit. The
// negotiation itself is pure and lives in codec (codec.DeflatePolicy).
//
// # Idle costs nothing
//
// A flate compressor is about 1 MB and a decompressor about 45 KB, so no
// connection ever owns one. Both are borrowed from process-wide pools for
// the length of one Deflate or Inflate call and given back before it
// returns: a connection holds no flate state between messages. With context
// takeover, what a connection keeps between messages is a Window per
// direction, the last 2^bits bytes of plaintext it compressed or inflated,
// which primes the borrowed (de)compressor as its dictionary. Per connection
// and per direction:
//
//   - deflate not negotiated, or no context takeover: 0 bytes (the engine
//     keeps no Window, or a zero one: 32 bytes of struct, no buffer);
//   - context takeover: the Window's buffer, exactly its size (allocated at
//     the first compressed message, 4 KiB by default, 32 KiB at most), kept
//     until Release. Slide does what Window.Append does on an array the
//     caller keeps: the engine keeps both directions of a connection in one
//     block of exactly their sizes, and no Window struct.
//
// # Ownership
//
//   - Deflate(dst, msg, dict) and Inflate(dst, payload, dict, limit) append
//     to dst, which belongs to the caller before and after the call; they
//     grow it only as output is produced (Inflate never past limit bytes of
//     output, and never on a size the peer declared). msg, payload and dict
//     are read during the call only and never retained past it.
//   - A Window belongs to its connection and is touched only on the
//     connection's event loop; Window.Bytes is valid until the next Append
//     or Release.
//
// # Where the engine calls it
//
//   - Inbound, after seam 1: a message the Decoder returns with Rsv&0b100
//     (RSV1, allowed by Decoder.SetExtensionRSV(0b100) once negotiated) is
//     reassembled but still compressed and its text unchecked. The engine
//     calls Inflate(buf[:0], msg.Payload, in.Bytes(), MaxMessageSize) into a
//     buffer it owns (pooled, or a region for large ones), maps ErrTooLarge to
//     close 1009 and ErrCorrupt to close 1007, checks UTF-8 of a text message
//     on the inflated bytes, then (context takeover from the client) calls
//     in.Append(inflated).
//   - Outbound, before seam 2: for a message at or above the compression
//     threshold, Deflate(scratch[:0], payload, out.Bytes()) into a per-loop
//     scratch buffer, sent with RSV1 set on the first frame only if smaller
//     than the payload; then (context takeover to the client) out.Append(payload).
//     A message sent uncompressed must not be appended: the client's
//     inflater never sees it.
//   - Broadcast: the hub calls Deflate(nil, payload, nil) once per publish,
//     with no dictionary, and prepares one frame with RSV1
//     (codec.PreparedFrame) that every receiver which negotiated
//     server_no_context_takeover can be sent as is. A receiver with context
//     takeover is sent its own compression (or the plain frame, leaving its
//     Window alone).
//
// The flate implementation is github.com/klauspost/compress/flate v1.18.0,
// chosen by measurement (see bench_test.go): at level 1 it compresses JSON
// 1.5–2× faster than compress/flate, 3–5× faster with a dictionary (it can
// prime a pooled writer with ResetDict; the standard writer can only be
// primed by compressing the dictionary and throwing the output away), and
// inflates with zero allocations where the standard reader allocates.
//
// At level 1 both implementations Huffman-code a message under 128 bytes
// without looking for matches (the dictionary is not used either), so such a
// message shrinks little if at all: the engine's compression threshold should
// be at least 128 bytes, and a message whose Deflate output is not smaller
// than itself is sent plain.
package pmd
