package engine

import (
	"errors"
	"testing"

	"github.com/switchboard-ws/switchboard/codec"
)

func TestCloseCauseOf(t *testing.T) {
	tests := []struct {
		name   string
		report CloseError
		want   string
	}{
		{"peer close frame", CloseError{Code: codec.CloseNormal, Remote: true}, "peer"},
		{"Conn.Close", CloseError{Code: codec.CloseNormal}, "application"},
		{"Conn.Abort", CloseError{Code: codec.CloseAbnormal, Err: ErrClosed}, "application"},
		{"TCP gone", CloseError{Code: codec.CloseAbnormal, Remote: true, Err: ErrConnectionLost}, "connection_lost"},
		{"socket error", CloseError{Code: codec.CloseAbnormal, Remote: true, Err: errors.New("connection reset by peer")}, "connection_lost"},
		{"bad frame", CloseError{Code: codec.CloseProtocolError, Err: codec.ErrUnmaskedFrame}, "protocol"},
		{"bad UTF-8", CloseError{Code: codec.CloseInvalidPayload, Err: codec.ErrInvalidUTF8}, "protocol"},
		{"message too big", CloseError{Code: codec.CloseMessageTooBig, Err: codec.ErrMessageTooBig}, "message_too_big"},
		{"frame too big", CloseError{Code: codec.CloseMessageTooBig, Err: codec.ErrFrameTooBig}, "message_too_big"},
		{"inbound budget", CloseError{Code: codec.CloseTryAgainLater, Err: codec.ErrOverBudget}, "inbound_budget"},
		{"rate limit", CloseError{Code: codec.ClosePolicyViolation, Err: ErrRateLimited}, "rate_limit"},
		{"outbound full", CloseError{Code: codec.ClosePolicyViolation, Err: ErrOutboundFull}, "outbound_full"},
		{"write stall", CloseError{Code: codec.ClosePolicyViolation, Err: ErrWriteStall}, "write_stall"},
		{"pong timeout", CloseError{Code: codec.CloseAbnormal, Err: ErrPongTimeout}, "pong_timeout"},
		{"idle timeout", CloseError{Code: codec.CloseNormal, Err: ErrIdleTimeout}, "idle_timeout"},
		{"close timeout", CloseError{Code: codec.CloseNormal, Err: ErrCloseTimeout}, "close_timeout"},
		{"shutdown", CloseError{Code: codec.CloseGoingAway, Err: ErrServerClosed}, "shutdown"},
		{"handler panic", CloseError{Code: codec.CloseInternalError, Err: ErrHandlerPanic}, "handler_panic"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := causeOf(&tt.report).String(); got != tt.want {
				t.Errorf("cause = %q, want %q", got, tt.want)
			}
		})
		seen[tt.want] = true
	}
	for c := range numCloseCauses {
		if !seen[c.String()] {
			t.Errorf("cause %q has no case in this table", c)
		}
	}
}
