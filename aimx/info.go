package aimx

import (
	"context"
	"errors"
	"os"
	"time"
)

// Info describes a running server: the result of instance.info, a
// method of this server beyond AimX 3.0 (AimDB's servers answer it
// "not_found"; Client.Info then falls back to hello and record.list).
type Info struct {
	Server           string    `json:"server"`                   // "aimdb"
	ServerVersion    string    `json:"server_version,omitempty"` // the aimdb module version
	Version          string    `json:"version"`                  // the AimX version, "3.0"
	Name             string    `json:"name,omitempty"`           // ServerOptions.Name
	PID              int       `json:"pid,omitempty"`
	Started          time.Time `json:"started,omitzero"`    // when the server was created
	UptimeMs         int64     `json:"uptime_ms,omitempty"` // time since Started
	Records          int       `json:"records"`             // records the client may list
	Permissions      []string  `json:"permissions"`         // ["read"] or ["read","write"]
	WritableRecords  []string  `json:"writable_records"`    // the policy's writable keys that exist
	MaxSubscriptions int       `json:"max_subscriptions"`
	Authenticated    bool      `json:"authenticated"`
	Endpoints        []string  `json:"endpoints,omitempty"` // every endpoint the server listens on
}

// info answers instance.info: the welcome plus what hello leaves out.
func (ss *session) info() Info {
	w := ss.welcome()
	r := &ss.srv.reg
	return Info{
		Server: w.Server, ServerVersion: serverVersion(), Version: w.Version,
		Name: ss.srv.name(), PID: os.Getpid(),
		Started: r.started.UTC(), UptimeMs: time.Since(r.started).Milliseconds(),
		Records:     len(ss.records()),
		Permissions: w.Permissions, WritableRecords: w.WritableRecords,
		MaxSubscriptions: w.MaxSubscriptions, Authenticated: w.Authenticated,
		Endpoints: r.list(),
	}
}

// Info asks the server to describe itself (instance.info). A server
// without that method (AimDB's) is described from its welcome and
// record.list: no server version, process, uptime or endpoints.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var in Info
	err := c.Call(ctx, "instance.info", nil, &in)
	if !errors.Is(err, ErrNotFound) {
		return in, err
	}
	var rows []RecordInfo
	if err := c.Call(ctx, "record.list", nil, &rows); err != nil {
		return in, err
	}
	w := c.Welcome()
	return Info{
		Server: w.Server, Version: w.Version, Records: len(rows),
		Permissions: w.Permissions, WritableRecords: w.WritableRecords,
		MaxSubscriptions: w.MaxSubscriptions, Authenticated: w.Authenticated,
	}, nil
}
