package engine

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"strings"
)

// foreignListener reports whether a TCP socket listening on ta's port,
// overlapping ta's address, belongs to another process. It reads the
// listening sockets of this network namespace from /proc/net/tcp and
// /proc/net/tcp6, and this process's sockets from /proc/self/fd.
//
// Overlap is judged within one address family (equal addresses, or either
// the family's wildcard); a dual-stack wildcard ("tcp") overlaps every
// socket on the port. A family-specific server ignores the other family: an
// IPv6 wildcard socket there may be IPV6_V6ONLY, which /proc does not show,
// and counting it could stop a server that shares nothing.
func foreignListener(network string, ta *net.TCPAddr) (bool, error) {
	// This process's sockets are read before and after the listeners, so
	// that one of ours opened (another loop's listener) or closed (a
	// shutdown) meanwhile is still known as ours.
	before, err := ownSockets()
	if err != nil {
		return false, err
	}
	inodes, err := listenersOn(network, ta)
	if err != nil || len(inodes) == 0 {
		return false, err
	}
	after, err := ownSockets()
	if err != nil {
		return false, err
	}
	for _, ino := range inodes {
		if !before[ino] && !after[ino] {
			return true, nil
		}
	}
	return false, nil
}

// anyListener reports whether any socket, this process's included, listens
// where ta overlaps; known is false where that cannot be listed.
func anyListener(network string, ta *net.TCPAddr) (found, known bool) {
	inodes, err := listenersOn(network, ta)
	return len(inodes) > 0, err == nil
}

// listenersOn returns the inodes of the listening sockets overlapping ta.
func listenersOn(network string, ta *net.TCPAddr) ([]string, error) {
	var files []string
	switch network {
	case "tcp4":
		files = []string{"/proc/net/tcp"}
	case "tcp6":
		files = []string{"/proc/net/tcp6"}
	default:
		files = []string{"/proc/net/tcp", "/proc/net/tcp6"}
	}
	var inodes []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				continue // no IPv6 in this kernel
			}
			return nil, err
		}
		for _, ln := range parseProcListeners(b) {
			if ln.port == ta.Port && (network == "tcp" || overlaps(ln.ip, ta.IP)) {
				inodes = append(inodes, ln.inode)
			}
		}
	}
	return inodes, nil
}

// overlaps reports whether two addresses of one family collide on a port.
func overlaps(a, b net.IP) bool {
	return a.IsUnspecified() || b == nil || b.IsUnspecified() || a.Equal(b)
}

type procListener struct {
	ip    net.IP
	port  int
	inode string
}

// parseProcListeners returns the sockets in state LISTEN (0A) of a
// /proc/net/tcp or tcp6 table. Addresses there are hex words in host byte
// order; ports are big-endian hex.
func parseProcListeners(b []byte) []procListener {
	var out []procListener
	sc := bufio.NewScanner(bytes.NewReader(b))
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		host, port, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		raw, err := hex.DecodeString(host)
		if err != nil || (len(raw) != 4 && len(raw) != 16) {
			continue
		}
		ip := make(net.IP, len(raw))
		for i := 0; i < len(raw); i += 4 {
			binary.NativeEndian.PutUint32(ip[i:], binary.BigEndian.Uint32(raw[i:]))
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil {
			continue
		}
		out = append(out, procListener{ip: ip, port: int(p), inode: f[9]})
	}
	return out
}

// ownSockets returns the inodes of this process's sockets.
func ownSockets() (map[string]bool, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	own := make(map[string]bool, len(names))
	for _, n := range names {
		l, err := os.Readlink("/proc/self/fd/" + n)
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := strings.CutPrefix(l, "socket:["); ok {
			own[strings.TrimSuffix(ino, "]")] = true
		}
	}
	return own, nil
}
