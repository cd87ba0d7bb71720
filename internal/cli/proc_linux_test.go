package cli_test

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the child herald process get SIGKILL if the test
// process dies first (a timeout, a ^C), so no server outlives its test.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
