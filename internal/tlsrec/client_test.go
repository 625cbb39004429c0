package tlsrec

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
)

// rolePair returns the server's and the client's record layers over the same
// secrets, as Init and InitClient set them up after a handshake.
func rolePair(t *testing.T, id uint16) (srv, cli *Conn) {
	t.Helper()
	n := 32
	if id == tls.TLS_AES_256_GCM_SHA384 {
		n = 48
	}
	k := &KeyLog{}
	for _, label := range []string{"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
		secret := bytes.Repeat([]byte{label[0]}, n)
		fmt.Fprintf(k, "%s %s %s\n", label, hex.EncodeToString(make([]byte, 32)), hex.EncodeToString(secret))
	}
	srv, cli = new(Conn), new(Conn)
	if err := srv.Init(id, k, nil); err != nil {
		t.Fatal(err)
	}
	if err := cli.InitClient(id, k); err != nil {
		t.Fatal(err)
	}
	return srv, cli
}

// ticket is a NewSessionTicket message (RFC 8446 §4.6.1) with a short
// ticket and no extensions.
var ticket = []byte{msgNewSessionTicket, 0, 0, 18,
	0, 0, 0x1c, 0x20, // lifetime
	1, 2, 3, 4, // age_add
	1, 9, // nonce
	0, 4, 't', 'k', 't', '!', // ticket
	0, 0} // extensions

func TestClientRole(t *testing.T) {
	for _, id := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256} {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			srv, cli := rolePair(t, id)
			var sOut, sIn, cOut, cIn Cipher
			// The server's tickets (two in one record, then one alone)
			// are accepted and produce nothing.
			recs, err := Seal(&srv.Out, &sOut, nil, TypeHandshake, append(append([]byte(nil), ticket...), ticket...), nil)
			if err != nil {
				t.Fatal(err)
			}
			recs, _ = Seal(&srv.Out, &sOut, recs, TypeHandshake, ticket, nil)
			// Application data, then KeyUpdate(update_requested), then
			// data under the next key.
			recs, _ = srv.Write(&sOut, recs, []byte("hello "), []byte("client"))
			recs, _ = srv.WriteKeyUpdate(&sOut, recs, true)
			recs, _ = srv.Write(&sOut, recs, []byte("after update"), nil)
			var got []byte
			for p := recs; len(p) > 0; {
				n := RecordLen(p)
				var ev Event
				got, ev, err = cli.Read(&cIn, p[:n], got)
				if err != nil || ev != EventNone {
					t.Fatalf("client read: %v, event %d", err, ev)
				}
				p = p[n:]
			}
			if string(got) != "hello clientafter update" || cli.In.Generation() != 1 || !cli.UpdatePending() {
				t.Fatalf("got %q, generation %d, pending %v", got, cli.In.Generation(), cli.UpdatePending())
			}
			// The client answers the KeyUpdate before its data; the server
			// opens both.
			out, err := cli.Write(&cOut, nil, []byte("reply"), nil)
			if err != nil {
				t.Fatal(err)
			}
			out, _ = cli.WriteAlert(&cOut, out, AlertCloseNotify)
			got = got[:0]
			var last Event
			for p := out; len(p) > 0; {
				n := RecordLen(p)
				got, last, err = srv.Read(&sIn, p[:n], got)
				if err != nil {
					t.Fatalf("server read: %v", err)
				}
				p = p[n:]
			}
			if string(got) != "reply" || srv.In.Generation() != 1 || last != EventCloseNotify {
				t.Fatalf("server got %q, generation %d, last event %d", got, srv.In.Generation(), last)
			}
		})
	}
}

func TestClientRoleRejects(t *testing.T) {
	frag := ticket[:10] // a ticket cut short: it spans records
	for _, tc := range []struct {
		name   string
		client bool // the record goes to the client (else: to the server)
		msg    []byte
		want   Alert
	}{
		{"ticket to a server", false, ticket, AlertUnexpectedMessage},
		{"fragmented ticket", true, frag, AlertUnexpectedMessage},
		{"ticket then KeyUpdate then ticket", true, append(append(append([]byte(nil), ticket...), msgKeyUpdate, 0, 0, 1, 0), ticket...), AlertUnexpectedMessage},
		{"certificate request", true, []byte{13, 0, 0, 0}, AlertUnexpectedMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, cli := rolePair(t, tls.TLS_AES_128_GCM_SHA256)
			var sealer, opener Cipher
			from, to := srv, cli
			if !tc.client {
				from, to = cli, srv
			}
			rec, err := Seal(&from.Out, &sealer, nil, TypeHandshake, tc.msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = to.Read(&opener, rec, nil)
			var a Alert
			if !errors.As(err, &a) || a != tc.want {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
