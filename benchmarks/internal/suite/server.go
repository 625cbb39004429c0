package suite

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/switchboard-ws/switchboard/benchmarks/internal/ctl"
	"github.com/switchboard-ws/switchboard/benchmarks/internal/load"
)

// serverProc is one running server program, driven over its stdin/stdout
// control channel (package ctl).
type serverProc struct {
	name  string
	addr  string
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	exit  chan struct{}
	log   *os.File
}

// startServer starts bin listening on addr with extra flags args (and
// extra environment variables env) and waits until it is ready.
func startServer(bin, name, addr, logPath string, args, env []string) (*serverProc, error) {
	return startServerOn("", bin, name, addr, logPath, args, env)
}

// startServerOn is startServer with the server confined to the CPUs in
// cpus (taskset's list syntax, "0"; "": anywhere).
func startServerOn(cpus, bin, name, addr, logPath string, args, env []string) (*serverProc, error) {
	cmd := load.PinnedCommand(cpus, bin, append([]string{"-addr", addr}, args...)...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var logf *os.File
	if logPath != "" {
		if logf, err = os.Create(logPath); err != nil {
			return nil, err
		}
		cmd.Stderr = logf
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &serverProc{name: name, addr: addr, cmd: cmd, in: in, lines: make(chan string, 16), exit: make(chan struct{}), log: logf}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), ctl.Prefix); ok {
				s.lines <- line
			}
		}
		_ = cmd.Wait()
		close(s.exit)
	}()
	select {
	case line := <-s.lines:
		if !strings.HasPrefix(line, "ready") {
			s.stop()
			return nil, fmt.Errorf("%s: unexpected first line %q", name, line)
		}
	case <-s.exit:
		return nil, fmt.Errorf("%s exited at start (see %s)", name, logPath)
	case <-time.After(20 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s: not ready after 20s", name)
	}
	return s, nil
}

func (s *serverProc) ask(cmd string) (ctl.Mem, error) {
	var m ctl.Mem
	if _, err := io.WriteString(s.in, cmd+"\n"); err != nil {
		return m, fmt.Errorf("%s: %w", s.name, err)
	}
	select {
	case line := <-s.lines:
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return m, fmt.Errorf("%s: bad reply %q", s.name, line)
		}
		if m.Err != "" {
			return m, errors.New(s.name + ": " + m.Err)
		}
		return m, nil
	case <-s.exit:
		return m, fmt.Errorf("%s exited", s.name)
	case <-time.After(60 * time.Second):
		return m, fmt.Errorf("%s: no answer to %q", s.name, cmd)
	}
}

// mem collects garbage in the server and returns its memory figures.
func (s *serverProc) mem() (ctl.Mem, error) { return s.ask("mem") }

// waitConns polls until the server holds n connections.
func (s *serverProc) waitConns(n int, timeout time.Duration) (ctl.Mem, error) {
	deadline := time.Now().Add(timeout)
	for {
		m, err := s.ask("stats")
		if err != nil || m.Conns == int64(n) {
			return m, err
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("%s holds %d connections, want %d", s.name, m.Conns, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *serverProc) stop() {
	_ = s.in.Close()
	select {
	case <-s.exit:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
	if s.log != nil {
		s.log.Close()
	}
}
