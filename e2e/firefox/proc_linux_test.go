package firefox

import "syscall"

// sysProcAttr puts Firefox in its own process group, so that stop can kill
// its child processes too, and kills it if the test process dies first
// (a go test -timeout panic runs no cleanup).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
