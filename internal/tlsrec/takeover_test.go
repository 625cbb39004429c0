package tlsrec

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

type lineSink struct{ buf bytes.Buffer }

func (s *lineSink) Write(p []byte) (int, error) { return s.buf.Write(p) }

type failSink struct{}

var errSink = errors.New("sink failed")

func (failSink) Write([]byte) (int, error) { return 0, errSink }

func TestKeyLogWrite(t *testing.T) {
	random := strings.Repeat("ab", 32)
	s32 := strings.Repeat("01", 32)
	s48 := strings.Repeat("fe", 48)
	for _, tc := range []struct {
		name           string
		lines          []string
		client, server string // hex, "" for none
		err            bool
	}{
		{name: "both", lines: []string{
			"CLIENT_HANDSHAKE_TRAFFIC_SECRET " + random + " " + s48 + "\n",
			"CLIENT_TRAFFIC_SECRET_0 " + random + " " + s32 + "\n",
			"SERVER_TRAFFIC_SECRET_0 " + random + " " + s48 + "\n",
		}, client: s32, server: s48},
		{name: "crlf", lines: []string{"SERVER_TRAFFIC_SECRET_0 " + random + " " + s32 + "\r\n"}, server: s32},
		{name: "no newline", lines: []string{"CLIENT_TRAFFIC_SECRET_0 " + random + " " + s32}, client: s32},
		{name: "later line wins", lines: []string{
			"CLIENT_TRAFFIC_SECRET_0 " + random + " " + s48 + "\n",
			"CLIENT_TRAFFIC_SECRET_0 " + random + " " + s32 + "\n",
		}, client: s32},
		{name: "other labels only", lines: []string{"EXPORTER_SECRET " + random + " " + s32 + "\n"}},
		{name: "no secret field", lines: []string{"CLIENT_TRAFFIC_SECRET_0 " + random + "\n"}},
		{name: "odd hex", lines: []string{"CLIENT_TRAFFIC_SECRET_0 " + random + " abc\n"}, err: true},
		{name: "bad hex", lines: []string{"CLIENT_TRAFFIC_SECRET_0 " + random + " zz\n"}, err: true},
		{name: "too long", lines: []string{"SERVER_TRAFFIC_SECRET_0 " + random + " " + s48 + "00\n"}, err: true},
		{name: "empty secret", lines: []string{"SERVER_TRAFFIC_SECRET_0 " + random + " \n"}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var next lineSink
			k := &KeyLog{Next: &next}
			var err error
			for _, l := range tc.lines {
				if _, err = k.Write([]byte(l)); err != nil {
					break
				}
			}
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if !tc.err && next.buf.String() != strings.Join(tc.lines, "") {
				t.Fatal("the lines were not all passed to Next")
			}
			c, s := k.Secrets()
			if hex.EncodeToString(c) != tc.client || hex.EncodeToString(s) != tc.server {
				t.Fatalf("secrets %x %x", c, s)
			}
			k.Clear()
			if c, s := k.Secrets(); c != nil || s != nil || k.client != [maxSecret]byte{} || k.server != [maxSecret]byte{} {
				t.Fatal("Clear left secrets")
			}
		})
	}
	if _, err := (&KeyLog{Next: failSink{}}).Write([]byte("CLIENT_TRAFFIC_SECRET_0 x y\n")); err != errSink {
		t.Fatalf("Next's error: got %v", err)
	}
	line := []byte("SERVER_TRAFFIC_SECRET_0 " + random + " " + s48 + "\n")
	var k KeyLog
	if n := testing.AllocsPerRun(100, func() { _, _ = k.Write(line) }); n != 0 {
		t.Fatalf("Write allocates %v times", n)
	}
}

// TestInitCounts checks that Init starts Out past the records crypto/tls
// already protected under the server's application key, however many
// there are and behind however many handshake-key records, and that
// InitCipher hands over a cipher that seals what the peer opens.
func TestInitCounts(t *testing.T) {
	const id = tls.TLS_AES_128_GCM_SHA256
	app := bytes.Repeat([]byte{9}, 32)
	hs := bytes.Repeat([]byte{3}, 32)
	cli := bytes.Repeat([]byte{5}, 32)
	k := &KeyLog{}
	for _, l := range []string{"CLIENT_TRAFFIC_SECRET_0 00 " + hex.EncodeToString(cli) + "\n", "SERVER_TRAFFIC_SECRET_0 00 " + hex.EncodeToString(app) + "\n"} {
		if _, err := k.Write([]byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ hsRecs, appRecs int }{{4, 1}, {2, 1}, {4, 0}, {0, 0}, {3, 2}, {1, 20}, {20, 3}} {
		var hd, ad Direction
		_ = hd.Init(id, hs, 0)
		_ = ad.Init(id, app, 0)
		var hc, ac Cipher
		written := []byte{TypeHandshake, 3, 3, 0, 2, 0xaa, 0xbb} // a plaintext record (ServerHello)
		written = append(written, TypeChangeCipherSpec, 3, 3, 0, 1, 1)
		var err error
		for range tc.hsRecs {
			if written, err = Seal(&hd, &hc, written, TypeHandshake, bytes.Repeat([]byte{1}, 300), nil); err != nil {
				t.Fatal(err)
			}
		}
		for range tc.appRecs {
			if written, err = Seal(&ad, &ac, written, TypeHandshake, bytes.Repeat([]byte{2}, 200), nil); err != nil {
				t.Fatal(err)
			}
		}
		var c Conn
		var out Cipher
		if err := c.InitCipher(id, k, written, &out); err != nil {
			t.Fatal(err)
		}
		if c.Out.Seq() != uint64(tc.appRecs) {
			t.Fatalf("%+v: Out starts at %d", tc, c.Out.Seq())
		}
		// The handed-over cipher, rebound to a moved Conn, seals
		// records the peer opens.
		moved := c
		out.Rebind(&moved.Out)
		rec, err := moved.Write(&out, nil, []byte("hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := (&Conn{In: ad}).Read(&Cipher{}, rec, nil)
		if err != nil || string(got) != "hello" {
			t.Fatalf("%+v: peer read %q, %v", tc, got, err)
		}
		if tc.hsRecs+tc.appRecs > 0 && out.dir != &moved.Out {
			t.Fatalf("%+v: Rebind did not take", tc)
		}
	}
	var c Conn
	if err := c.Init(id, &KeyLog{}, nil); err != ErrNoSecrets {
		t.Fatalf("no secrets: %v", err)
	}
}

// TestRebindRefuses checks that Rebind never points a cipher at a
// Direction with another key or generation.
func TestRebindRefuses(t *testing.T) {
	const id = tls.TLS_AES_128_GCM_SHA256
	var a, b Direction
	_ = a.Init(id, bytes.Repeat([]byte{1}, 32), 0)
	_ = b.Init(id, bytes.Repeat([]byte{2}, 32), 0)
	var c Cipher
	if err := c.For(&a); err != nil {
		t.Fatal(err)
	}
	c.Rebind(&b)
	if c.dir != &a {
		t.Fatal("rebound to another key")
	}
	a2 := a
	_ = a2.Update()
	c.Rebind(&a2)
	if c.dir != &a {
		t.Fatal("rebound to another generation")
	}
	var empty Cipher
	empty.Rebind(&a)
	if empty.dir != nil {
		t.Fatal("an empty cipher was bound")
	}
}
