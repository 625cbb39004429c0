package engine

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"io"
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
		fh, err := os.Open(f)
		if err != nil {
			if os.IsNotExist(err) {
				continue // no IPv6 in this kernel
			}
			return nil, err
		}
		err = scanProcListeners(fh, func(ln procListener) {
			if ln.port == ta.Port && (network == "tcp" || overlaps(ln.ip, ta.IP)) {
				inodes = append(inodes, ln.inode)
			}
		})
		_ = fh.Close()
		if err != nil {
			return nil, err
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

// scanProcListeners calls fn for each socket in state LISTEN (0A) of a
// /proc/net/tcp or tcp6 table read from r. Addresses there are hex words in
// host byte order; ports are big-endian hex. A busy host lists tens of
// thousands of sockets there: the table is streamed through one buffer, and
// a line that is not a listener costs no allocation.
func scanProcListeners(r io.Reader, fn func(procListener)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		if ln, ok := parseProcLine(sc.Bytes()); ok {
			fn(ln)
		}
	}
	return sc.Err()
}

// parseProcLine parses one line of a /proc/net/tcp table: ok is false for
// a socket not in state LISTEN or a malformed line. Fields are "sl:
// local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid
// timeout inode ...".
func parseProcLine(line []byte) (procListener, bool) {
	var f [10][]byte
	n := 0
	for i := 0; i < len(line) && n < len(f); {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' {
			j++
		}
		if j > i {
			f[n] = line[i:j]
			n++
		}
		i = j
	}
	if n < len(f) || string(f[3]) != "0A" {
		return procListener{}, false
	}
	host, port, ok := bytes.Cut(f[1], []byte{':'})
	if !ok || (len(host) != 8 && len(host) != 32) {
		return procListener{}, false
	}
	raw := make([]byte, len(host)/2)
	if _, err := hex.Decode(raw, host); err != nil {
		return procListener{}, false
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(ip[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	p, err := strconv.ParseUint(string(port), 16, 16)
	if err != nil {
		return procListener{}, false
	}
	return procListener{ip: ip, port: int(p), inode: string(f[9])}, true
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
