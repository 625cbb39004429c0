package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ws/switchboard/engine"
)

// tlsFront terminates TLS with a self-signed certificate in front of addr.
func tlsFront(t *testing.T, backend string) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wscat test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				b, err := net.Dial("tcp", backend)
				if err != nil {
					_ = c.Close()
					return
				}
				go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
				_, _ = io.Copy(c, b)
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestInsecure(t *testing.T) {
	front := tlsFront(t, echoServer(t, nil))
	var out, errOut syncBuffer
	// Without -insecure the self-signed certificate is refused.
	if code := run(context.Background(), []string{"wss://" + front + "/"}, strings.NewReader(""), &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "certificate") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	errOut = syncBuffer{}
	code := run(context.Background(), []string{"-insecure", "wss://" + front + "/"}, &slowReader{lines: []string{"secret"}}, &out, &errOut)
	if code != 0 || out.String() != "< secret\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// lineReader yields lines sent on a channel, EOF when it closes.
type lineReader struct{ ch chan string }

func (r *lineReader) Read(p []byte) (int, error) {
	s, ok := <-r.ch
	if !ok {
		return 0, io.EOF
	}
	return copy(p, s+"\n"), nil
}

func TestReconnect(t *testing.T) {
	start := func(addr string) *engine.Server {
		cfg := engine.DefaultConfig(addr)
		cfg.EventLoops = 1
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		srv, err := engine.New(cfg, engine.Handlers{
			Message: func(c *engine.Conn, typ engine.MessageType, data []byte) { _ = c.WriteMessage(typ, data) },
		})
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = srv.Run(context.Background()) }()
		return srv
	}
	stop := func(srv *engine.Server) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-srv.Done()
	}
	srv := start("127.0.0.1:0")
	addr := srv.Addr()
	in := &lineReader{ch: make(chan string)}
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"-reconnect", "ws://" + addr + "/"}, in, &out, &errOut)
	}()
	waitFor := func(buf *syncBuffer, s string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(buf.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in %q", s, buf.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor(&errOut, "connected to")
	in.ch <- "one"
	waitFor(&out, "< one")
	stop(srv)
	waitFor(&errOut, "reconnect attempt 1")
	for srv = start(addr); srv.Addr() == ""; srv = start(addr) {
		time.Sleep(100 * time.Millisecond)
	}
	defer stop(srv)
	waitFor(&errOut, "reconnected to")
	in.ch <- "two"
	waitFor(&out, "< two")
	close(in.ch)
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
}
