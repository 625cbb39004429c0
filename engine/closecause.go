package engine

import (
	"github.com/switchboard-ws/switchboard/codec"
)

// closeCause classifies why an upgraded connection closed. Stats reports
// the count of each (Stats.CloseCauses); it is counted once per close, from
// the close report, so it costs nothing per message.
type closeCause uint8

const (
	causePeer           closeCause = iota // the peer sent a close frame
	causeApplication                      // Conn.Close or Conn.Abort
	causeConnectionLost                   // TCP went away or failed without a close handshake
	causeProtocol                         // the peer broke RFC 6455 (bad frame, bad UTF-8, ...)
	causeMessageTooBig                    // MaxMessageSize (1009)
	causeInboundBudget                    // InboundBudget (1013)
	causeRateLimit                        // MaxMessagesPerSecond / MaxBytesPerSecond with PolicyClose
	causeOutboundFull                     // MaxOutbound with PolicyClose
	causeWriteStall                       // WriteStallTimeout
	causePongTimeout                      // PongTimeout after an unanswered ping
	causeIdleTimeout                      // IdleTimeout
	causeCloseTimeout                     // CloseTimeout: the peer did not answer our close
	causeShutdown                         // Server.Shutdown / Run's context ended
	causeHandlerPanic                     // a Handler callback panicked
	numCloseCauses
)

var closeCauseNames = [numCloseCauses]string{
	"peer", "application", "connection_lost", "protocol", "message_too_big",
	"inbound_budget", "rate_limit", "outbound_full", "write_stall",
	"pong_timeout", "idle_timeout", "close_timeout", "shutdown", "handler_panic",
}

func (c closeCause) String() string { return closeCauseNames[c] }

// causeOf classifies a close report.
func causeOf(r *CloseError) closeCause {
	switch r.Err {
	case nil:
		if r.Remote {
			return causePeer
		}
		return causeApplication
	case ErrClosed:
		return causeApplication
	case ErrConnectionLost:
		return causeConnectionLost
	case ErrRateLimited:
		return causeRateLimit
	case ErrOutboundFull:
		return causeOutboundFull
	case ErrWriteStall:
		return causeWriteStall
	case ErrPongTimeout:
		return causePongTimeout
	case ErrIdleTimeout:
		return causeIdleTimeout
	case ErrCloseTimeout:
		return causeCloseTimeout
	case ErrServerClosed:
		return causeShutdown
	case ErrHandlerPanic:
		return causeHandlerPanic
	case codec.ErrOverBudget:
		return causeInboundBudget
	case codec.ErrMessageTooBig, codec.ErrFrameTooBig:
		return causeMessageTooBig
	}
	if _, ok := r.Err.(*codec.Error); ok {
		return causeProtocol
	}
	return causeConnectionLost // an I/O error from the socket
}
