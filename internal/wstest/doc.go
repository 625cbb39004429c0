// Package wstest is a raw WebSocket test client for poking a server over real
// sockets with exact, possibly malformed, bytes.
//
// Dial performs a real RFC 6455 opening handshake and reads the response head
// byte by byte from a buffered reader, so bytes that the server sends right
// behind the head stay buffered for the following frame reads. DialRaw
// connects without a handshake, for garbage and dribbled requests.
//
// The write side sends exactly what it is told: WriteFrameOpts sets any RSV
// bits, may leave a frame unmasked and accepts any opcode or payload size
// (a control frame of 200 bytes, an opcode of 0xB); WriteRaw and WriteDribble
// send arbitrary bytes. EncodeFrame builds frame bytes without sending them,
// to concatenate several frames into one write or to split one frame across
// writes.
//
// The read side reports what arrived: ReadFrame returns one frame with its
// bits as sent (a masked frame from the server is unmasked and reported as
// Masked; ReadFrameBuf does the same into a buffer the caller reuses),
// ReadMessage reassembles fragmented messages and answers pings,
// ExpectClose and ExpectEOF check the closing of the connection, ExpectSilence
// checks that nothing arrives, and ReadHTTPResponse reads a plain HTTP answer.
//
// Every read takes a time limit; a limit that expires in the middle of a frame
// leaves the stream out of step, so a test should treat it as fatal. A Client
// may be written from one goroutine while another reads (writes are
// serialized, and ReadMessage's pongs go through the same lock), but reads
// must come from one goroutine at a time.
//
// The package is for tests only: it allocates freely and trusts nothing it
// reads beyond growing buffers as bytes actually arrive.
package wstest
