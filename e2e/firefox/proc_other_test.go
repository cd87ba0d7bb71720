//go:build unix && !linux

package firefox

import "syscall"

// sysProcAttr puts Firefox in its own process group, so that stop can kill
// its child processes too.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
