package suite

import (
	"net"
	"testing"
	"time"
)

// TestUnread checks the reading of /proc/net/tcp against a real socket
// whose peer does not read.
func TestUnread(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := unread(ln.Addr().String()); n != 0 {
		t.Fatalf("unread before writing: %d", n)
	}
	if _, err := c.Write(make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	n := unread(ln.Addr().String())
	for n != 5000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		n = unread(ln.Addr().String())
	}
	if n != 5000 {
		t.Fatalf("unread after writing 5000 bytes: %d", n)
	}
	if _, err := s.Read(make([]byte, 8000)); err != nil {
		t.Fatal(err)
	}
	for n != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		n = unread(ln.Addr().String())
	}
	if n != 0 {
		t.Fatalf("unread after reading: %d", n)
	}
}
