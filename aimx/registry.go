package aimx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RuntimeDirEnv names the environment variable that, when set, overrides
// RuntimeDir. Tests set it to a temporary directory.
const RuntimeDirEnv = "AIMDB_RUNTIME_DIR"

// RuntimeDir returns the directory where servers on this machine
// register the endpoints they listen on: $AIMDB_RUNTIME_DIR when set,
// else $XDG_RUNTIME_DIR/aimdb, else aimdb-<uid> in os.TempDir. It does
// not create the directory; Serve creates it on demand with mode 0700.
func RuntimeDir() string {
	if d := os.Getenv(RuntimeDirEnv); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "aimdb")
	}
	return filepath.Join(os.TempDir(), "aimdb-"+userID())
}

// An Instance is one endpoint a server on this machine listens on, as
// registered in RuntimeDir.
type Instance struct {
	Endpoint      string    `json:"endpoint"`                 // e.g. tcp://127.0.0.1:7433
	PID           int       `json:"pid,omitempty"`            // the server's process
	Name          string    `json:"name,omitempty"`           // ServerOptions.Name
	ServerVersion string    `json:"server_version,omitempty"` // the aimdb module version
	Started       time.Time `json:"started,omitzero"`         // when the server was created
}

// Instances lists the servers registered in RuntimeDir, oldest first.
// Entries of processes that are gone are removed; entries whose Unix
// socket refuses connections are left out. A Unix socket in the
// directory that no entry names (a server that listens there without
// registering, such as AimDB's) is listed with its endpoint only. A
// missing directory holds no instances; one that another user owns, or
// that others may write, is an error.
//
// Instances lists what is registered; it does not connect over TCP or
// ask the servers anything (Client.Info does).
func Instances() ([]Instance, error) {
	dir := RuntimeDir()
	if err := checkRuntimeDir(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("aimx: runtime directory %s: %w", dir, err)
	}
	var list []Instance
	seen := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var in Instance
		if json.Unmarshal(b, &in) != nil || in.Endpoint == "" {
			continue
		}
		if in.PID > 0 && !processAlive(in.PID) {
			os.Remove(path) // the server died without unregistering
			continue
		}
		if ep, err := ParseEndpoint(in.Endpoint); err == nil && ep.Scheme == "unix" && !socketAnswers(ep.Addr) {
			continue
		}
		seen[in.Endpoint] = true
		list = append(list, in)
	}
	for _, e := range ents {
		if e.Type()&fs.ModeSocket == 0 {
			continue
		}
		path := filepath.Join(dir, e.Name())
		ep := "unix://" + path
		if !seen[ep] && socketAnswers(path) {
			list = append(list, Instance{Endpoint: ep})
		}
	}
	slices.SortStableFunc(list, func(a, b Instance) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Endpoint, b.Endpoint)
	})
	return list, nil
}

func socketAnswers(path string) bool {
	c, err := net.DialTimeout("unix", path, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// registry is what a Server knows about itself for instance.info.
type registry struct {
	started time.Time

	mu        sync.Mutex
	endpoints []string
}

func (r *registry) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.endpoints)
}

// regSeq numbers the registration files of this process.
var regSeq atomic.Uint64

// listed adds ln's endpoint to the server's endpoints and, unless the
// server is Unlisted, registers it in RuntimeDir. The returned function
// undoes both. A registration that fails is logged; the server serves
// anyway.
func (s *Server) listed(ln net.Listener) func() {
	ep := listenerEndpoint(ln)
	if ep == "" {
		return func() {}
	}
	r := &s.reg
	r.mu.Lock()
	r.endpoints = append(r.endpoints, ep)
	r.mu.Unlock()
	unlist := func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if i := slices.Index(r.endpoints, ep); i >= 0 {
			r.endpoints = slices.Delete(r.endpoints, i, i+1)
		}
	}
	if s.opts.Unlisted {
		return unlist
	}
	path, err := register(Instance{Endpoint: ep, PID: os.Getpid(), Name: s.name(), ServerVersion: serverVersion(), Started: r.started})
	if err != nil {
		s.log.Warn("endpoint not registered; aimdb instance list will not find it", "endpoint", ep, "err", err)
		return unlist
	}
	return func() {
		os.Remove(path)
		unlist()
	}
}

// register writes in to a new file of RuntimeDir, atomically, and
// returns its path.
func register(in Instance) (string, error) {
	dir := RuntimeDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("aimx: runtime directory: %w", err)
	}
	if err := checkRuntimeDir(dir); err != nil {
		return "", err
	}
	b, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, ".register-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("aimx: runtime directory: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	path := filepath.Join(dir, strconv.Itoa(in.PID)+"-"+strconv.FormatUint(regSeq.Add(1), 10)+".json")
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("aimx: runtime directory: %w", err)
	}
	return path, nil
}

// listenerEndpoint returns the endpoint a client dials to reach ln, or
// "" for a listener that is neither TCP nor a Unix socket.
func listenerEndpoint(ln net.Listener) string {
	switch a := ln.Addr().(type) {
	case *net.TCPAddr:
		return "tcp://" + a.String()
	case *net.UnixAddr:
		if a.Name == "" || a.Name[0] == '@' { // unnamed or abstract
			return ""
		}
		p, err := filepath.Abs(a.Name)
		if err != nil {
			p = a.Name
		}
		return "unix://" + p
	}
	return ""
}

// name returns ServerOptions.Name or, by default, the program's name.
func (s *Server) name() string {
	if s.opts.Name != "" || len(os.Args) == 0 {
		return s.opts.Name
	}
	return filepath.Base(os.Args[0])
}

// serverVersion returns the version of the aimdb module the program was
// built with, "(devel)" when unknown.
var serverVersion = sync.OnceValue(func() string {
	const module = "github.com/aimdb-go/aimdb"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if bi.Main.Path == module && bi.Main.Version != "" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == module {
			if d.Replace != nil && d.Replace.Version != "" {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "(devel)"
})
