//go:build unix

package interop_test

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup runs cmd in a process group of its own and makes a
// cancelled cmd kill the whole group (node's and python's children too).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// stopSignal asks a server to shut down gracefully.
var stopSignal = syscall.SIGTERM
