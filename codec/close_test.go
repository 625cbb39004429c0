package codec

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRFC6455_7_4_CloseCodes(t *testing.T) {
	cases := []struct {
		code  CloseCode
		valid bool
	}{
		{code: 0, valid: false},
		{code: 999, valid: false},
		{code: CloseNormal, valid: true},
		{code: CloseGoingAway, valid: true},
		{code: CloseProtocolError, valid: true},
		{code: CloseUnsupportedData, valid: true},
		{code: 1004, valid: false},
		{code: CloseNoStatus, valid: false},
		{code: CloseAbnormal, valid: false},
		{code: CloseInvalidPayload, valid: true},
		{code: ClosePolicyViolation, valid: true},
		{code: CloseMessageTooBig, valid: true},
		{code: CloseMandatoryExtension, valid: true},
		{code: CloseInternalError, valid: true},
		{code: CloseServiceRestart, valid: true},
		{code: CloseTryAgainLater, valid: true},
		{code: CloseBadGateway, valid: true},
		{code: CloseTLSHandshakeFailure, valid: false},
		{code: 1016, valid: false},
		{code: 2999, valid: false},
		{code: 3000, valid: true},
		{code: 3999, valid: true},
		{code: 4000, valid: true},
		{code: 4999, valid: true},
		{code: 5000, valid: false},
		{code: 65535, valid: false},
	}
	for _, tc := range cases {
		if got := ValidCloseCode(tc.code); got != tc.valid {
			t.Errorf(
				"ValidCloseCode(%d) = %v, want %v",
				tc.code, got, tc.valid)
		}
	}
	// Every code: exactly the ranges of §7.4.1/§7.4.2 and the registry.
	for c := range 1 << 16 {
		want := (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999)
		if got := ValidCloseCode(CloseCode(c)); got != want {
			t.Fatalf(
				"ValidCloseCode(%d) = %v",
				c, got)
		}
	}
}

func TestRFC6455_5_5_1_ParseClosePayload(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		code   CloseCode
		reason string
		err    error
	}{
		{
			name: "empty",
			in:   "",
			code: CloseNoStatus,
		},
		{
			name: "one byte",
			in:   "\x03",
			err:  ErrCloseTooShort,
		},
		{
			name: "code only",
			in:   "\x03\xe8",
			code: CloseNormal,
		},
		{
			name:   "code and reason",
			in:     "\x0f\xa0bye ☃",
			code:   4000,
			reason: "bye ☃",
		},
		{
			name: "code 1005",
			in:   "\x03\xed",
			err:  ErrInvalidCloseCode,
		},
		{
			name: "code 1006 with a reason",
			in:   "\x03\xeeabnormal",
			err:  ErrInvalidCloseCode,
		},
		{
			name: "code 5000",
			in:   "\x13\x88",
			err:  ErrInvalidCloseCode,
		},
		{
			name: "invalid code and invalid reason: the code decides",
			in:   "\x00\x00\xff",
			err:  ErrInvalidCloseCode,
		},
		{
			name: "reason not UTF-8",
			in:   "\x03\xe8\xff",
			err:  ErrInvalidCloseReason,
		},
		{
			name: "reason with an unfinished code point",
			in:   "\x03\xe8ok\xe2\x98",
			err:  ErrInvalidCloseReason,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, reason, err := ParseClosePayload([]byte(tc.in))
			if err != tc.err || code != tc.code || string(reason) != tc.reason {
				t.Fatalf(
					"got %d %q %v; want %d %q %v",
					code, reason, err, tc.code, tc.reason, tc.err)
			}
		})
	}
}

func TestRFC6455_5_5_1_AppendCloseFrame(t *testing.T) {
	long := strings.Repeat("a", 122) + "é" + "tail" // é would end at byte 124
	cases := []struct {
		name   string
		code   CloseCode
		reason string
		want   event
		size   int // payload bytes on the wire
	}{
		{
			name: "no status sends an empty payload",
			code: CloseNoStatus,
			want: closeEv(CloseNoStatus, ""),
			size: 0,
		},
		{
			name:   "normal with reason",
			code:   CloseNormal,
			reason: "bye",
			want:   closeEv(CloseNormal, "bye"),
			size:   5,
		},
		{
			name:   "reason of 123 bytes fits",
			code:   CloseGoingAway,
			reason: strings.Repeat("r", 123),
			want:   closeEv(CloseGoingAway, strings.Repeat("r", 123)),
			size:   125,
		},
		{
			name:   "long ASCII reason cut to 123 bytes",
			code:   CloseGoingAway,
			reason: strings.Repeat("r", 200),
			want:   closeEv(CloseGoingAway, strings.Repeat("r", 123)),
			size:   125,
		},
		{
			name:   "cut on a code point boundary",
			code:   ClosePolicyViolation,
			reason: long,
			want:   closeEv(ClosePolicyViolation, strings.Repeat("a", 122)),
			size:   124,
		},
		{
			name:   "cut before a 4-byte code point",
			code:   4001,
			reason: strings.Repeat("a", 121) + "😀",
			want:   closeEv(4001, strings.Repeat("a", 121)),
			size:   123,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			frame := AppendCloseFrame(nil, tc.code, tc.reason)
			if len(frame) != 2+tc.size || frame[0] != 0x88 || int(frame[1]) != tc.size {
				t.Fatalf(
					"frame % x, want a %d-byte close payload",
					frame, tc.size)
			}
			var d Decoder
			d.Init(&DecoderConfig{FromServer: true})
			got, _ := decodeAll(t, &d, frame)
			checkEvents(t, got, []event{tc.want})
		})
	}
}

func TestTruncateUTF8(t *testing.T) {
	s := "aé☃😀b"
	for n := 0; n <= len(s)+1; n++ {
		got := truncateUTF8(s, n)
		if len(got) > n || !utf8.ValidString(got) || !strings.HasPrefix(s, got) || len(got) < n-3 {
			t.Fatalf(
				"truncateUTF8(%q, %d) = %q",
				s, n, got)
		}
	}
}
