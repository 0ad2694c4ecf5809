//go:build unix

package aimx

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
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

// bindUnix listens on a Unix socket at path whose mode is 0600 from the
// moment it appears there: it binds in a new private directory (mode
// 0700) beside path, sets the socket's mode, then links it into place,
// which fails if path exists by then (another server started). On a
// file system without hard links it renames it into place instead.
// Closing the listener removes the socket from path, unless another
// one has replaced it.
func bindUnix(path string) (net.Listener, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".aimx-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(dir)
	tmp := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	defer os.Remove(tmp)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			ln.Close()
			return nil, fmt.Errorf("the path was created while binding: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			ln.Close()
			return nil, err
		}
	}
	fi, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &unixListener{UnixListener: ln, addr: &net.UnixAddr{Name: path, Net: "unix"}, fi: fi}, nil
}

// unixListener is a Unix socket listener whose socket was moved into
// place after binding: Addr is where clients dial.
type unixListener struct {
	*net.UnixListener
	addr *net.UnixAddr
	fi   fs.FileInfo // of the socket, to remove no other

	once sync.Once
}

func (l *unixListener) Addr() net.Addr { return l.addr }

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, err := os.Lstat(l.addr.Name); err == nil && os.SameFile(fi, l.fi) {
			os.Remove(l.addr.Name)
		}
	})
	return err
}
