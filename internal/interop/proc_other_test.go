//go:build !unix

package interop_test

import (
	"os"
	"os/exec"
)

func ownProcessGroup(*exec.Cmd) {}

var stopSignal = os.Interrupt
