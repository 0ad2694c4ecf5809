//go:build !unix

package aimx

import (
	"fmt"
	"net"
	"os"
)

// userID names the user in the default runtime directory. Without Unix
// user ids, the directory is shared by the users of os.TempDir.
func userID() string {
	if u := os.Getenv("USERNAME"); u != "" {
		return u
	}
	return "user"
}

func checkRuntimeDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("aimx: runtime directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("aimx: runtime directory %s: not a directory", dir)
	}
	return nil
}

// processAlive reports whether a process with the id runs; where that
// cannot be asked, it assumes so.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// bindUnix listens on a Unix socket at path, then sets its mode to 0600.
func bindUnix(path string) (net.Listener, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
