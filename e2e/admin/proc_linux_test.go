package admin

import "syscall"

// sysProcAttr puts node in its own process group, so that the test can kill
// it and the Chromium it started together, and kills it if the test process
// dies first (a go test -timeout panic runs no cleanup).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
