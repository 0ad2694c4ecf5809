//go:build unix

package aimx

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func userID() string { return strconv.Itoa(os.Getuid()) }

// checkRuntimeDir refuses a runtime directory that is not a directory
// (a symbolic link included), that another user owns, or that its group
// or others may write: anyone who can write there can make clients
// connect to a socket of their choice.
func checkRuntimeDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("aimx: runtime directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("aimx: runtime directory %s: not a directory (%s)", dir, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("aimx: runtime directory %s: owned by uid %d, not by this user (uid %d); remove it or set %s", dir, st.Uid, os.Getuid(), RuntimeDirEnv)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("aimx: runtime directory %s: mode %v lets others write it; chmod 700 it or set %s", dir, fi.Mode().Perm(), RuntimeDirEnv)
	}
	return nil
}

// processAlive reports whether a process with the id runs (or exists
// under another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
