//go:build unix && !linux

package admin

import "syscall"

// sysProcAttr puts node in its own process group, so that the test can kill
// it and the Chromium it started together.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
