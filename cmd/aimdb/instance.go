package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/aimdb-go/aimdb/aimx"
)

func newInstanceCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "instance",
		Short: "Find the AimDB servers running on this machine and describe one",
		Long: `Servers register every AimX endpoint they listen on in the runtime
directory (` + "$AIMDB_RUNTIME_DIR, else $XDG_RUNTIME_DIR/aimdb, else /tmp/aimdb-<uid>" + `).
instance list finds them; instance info describes one.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newInstanceListCmd(a), newInstanceInfoCmd(a))
	return cmd
}

func newInstanceListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the AimX servers registered on this machine (and --connect, when given)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var extra []string
			if connectGiven(cmd, a) {
				extra = append(extra, a.connect)
			}
			rows, err := discover(cmd.Context(), a, extra)
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, rows)
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintf(a.stdout, "no AimDB instance registered in %s\n", aimx.RuntimeDir())
				return err
			}
			return instanceTable(rows).write(a.stdout)
		},
	}
}

func newInstanceInfoCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Describe one server: version, uptime, records, policy and endpoints",
		Long: `Describe the server at --connect or, without --connect (and $AIMDB_CONNECT),
the one server registered on this machine.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ep, err := infoEndpoint(cmd, a)
			if err != nil {
				return err
			}
			row := probe(cmd.Context(), a, aimx.Instance{Endpoint: ep})
			if row.err != nil {
				return row.err
			}
			if a.json() {
				return writeJSON(a.stdout, row)
			}
			return writeInfo(a.stdout, row)
		},
	}
}

// connectGiven reports whether the user named an endpoint, with
// --connect or $AIMDB_CONNECT.
func connectGiven(cmd *cobra.Command, a *app) bool {
	return cmd.Flags().Changed("connect") || a.env("AIMDB_CONNECT") != ""
}

// infoEndpoint returns the endpoint instance info describes: the one
// named, else the one server registered, else the default endpoint.
func infoEndpoint(cmd *cobra.Command, a *app) (string, error) {
	if connectGiven(cmd, a) {
		return a.connect, nil
	}
	list, err := aimx.Instances()
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return a.connect, nil
	}
	for _, in := range list[1:] {
		if in.PID != list[0].PID || !in.Started.Equal(list[0].Started) || in.PID == 0 {
			eps := make([]string, len(list))
			for i, in := range list {
				eps[i] = in.Endpoint
			}
			return "", usagef("instance info: %d servers are registered (%s); name one with --connect", len(list), strings.Join(eps, ", "))
		}
	}
	return list[0].Endpoint, nil // one server, maybe on several endpoints
}

// An instanceRow is one endpoint of instance list and discover_instances:
// what the runtime directory says, and what the server answered.
type instanceRow struct {
	Endpoint   string `json:"endpoint"`
	Registered bool   `json:"registered" jsonschema:"found in the runtime directory (else: the --connect endpoint)"`
	aimx.Info
	Error string `json:"error,omitempty" jsonschema:"why the server could not be asked"`

	err error
}

// discover lists the registered instances and the extra endpoints, and
// asks each server to describe itself, all at once.
func discover(ctx context.Context, a *app, extra []string) ([]instanceRow, error) {
	list, err := aimx.Instances()
	if err != nil {
		return nil, err
	}
	registered := len(list)
	for _, ep := range extra {
		if !slices.ContainsFunc(list, func(in aimx.Instance) bool { return in.Endpoint == ep }) {
			list = append(list, aimx.Instance{Endpoint: ep})
		}
	}
	rows := make([]instanceRow, len(list))
	var wg sync.WaitGroup
	for i, in := range list {
		wg.Go(func() {
			rows[i] = probe(ctx, a, in)
			rows[i].Registered = i < registered
		})
	}
	wg.Wait()
	return rows, nil
}

// probe connects to in's endpoint and asks for instance info, within
// --timeout (at most 2s: one dead server must not hold up a list).
func probe(ctx context.Context, a *app, in aimx.Instance) instanceRow {
	row := instanceRow{Endpoint: in.Endpoint}
	row.Name, row.PID, row.ServerVersion, row.Started = in.Name, in.PID, in.ServerVersion, in.Started
	ctx, cancel := context.WithTimeout(ctx, min(a.timeout, 2*time.Second))
	defer cancel()
	c, err := a.dialTo(ctx, in.Endpoint)
	if err == nil {
		defer c.Close()
		var info aimx.Info
		if info, err = c.Info(ctx); err == nil {
			// What the server says wins; what it does not say (an AimDB
			// server) is kept from the registration.
			info.Name = cmpOr(info.Name, in.Name)
			info.ServerVersion = cmpOr(info.ServerVersion, in.ServerVersion)
			if info.PID == 0 {
				info.PID = in.PID
			}
			if info.Started.IsZero() {
				info.Started = in.Started
			}
			row.Info = info
		}
	}
	if err != nil {
		row.err = fmt.Errorf("%s", errorLine(err, in.Endpoint))
		row.Error = row.err.Error()
	}
	return row
}

func cmpOr(s, or string) string {
	if s != "" {
		return s
	}
	return or
}

func instanceTable(rows []instanceRow) *table {
	t := &table{header: []string{"ENDPOINT", "PID", "NAME", "VERSION", "RECORDS", "UPTIME", "POLICY"}, right: map[int]bool{1: true, 4: true}}
	for _, r := range rows {
		pid := "-"
		if r.PID != 0 {
			pid = strconv.Itoa(r.PID)
		}
		if r.Error != "" {
			t.add(r.Endpoint, pid, dash(r.Name), dash(r.ServerVersion), "-", "-", "unreachable: "+r.Error)
			continue
		}
		t.add(r.Endpoint, pid, dash(r.Name), dash(r.ServerVersion), strconv.Itoa(r.Records), uptimeText(r.UptimeMs), policyText(r.Info))
	}
	return t
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func uptimeText(ms int64) string {
	if ms <= 0 {
		return "-"
	}
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}

// policyText says what clients may change: "read-only", or
// "read-write: k1, k2" with the writable records.
func policyText(in aimx.Info) string {
	if !slices.Contains(in.Permissions, "write") {
		return "read-only"
	}
	if len(in.WritableRecords) == 0 {
		return "read-write (no writable record; resets allowed)"
	}
	return "read-write: " + strings.Join(in.WritableRecords, ", ")
}

// writeInfo prints one instance as aligned "name  value" lines.
func writeInfo(w io.Writer, r instanceRow) error {
	started := "-"
	if !r.Started.IsZero() {
		started = r.Started.UTC().Format(time.RFC3339) + " (up " + uptimeText(r.UptimeMs) + ")"
	}
	pid := "-"
	if r.PID != 0 {
		pid = strconv.Itoa(r.PID)
	}
	auth := "no"
	if r.Authenticated {
		auth = "yes (token)"
	}
	t := &table{header: []string{"endpoint", r.Endpoint}}
	t.add("name", dash(r.Name))
	t.add("pid", pid)
	t.add("server", r.Server+" "+dash(r.ServerVersion))
	t.add("protocol", "AimX "+r.Version)
	t.add("started", started)
	t.add("records", strconv.Itoa(r.Records))
	t.add("policy", policyText(r.Info))
	t.add("max subscriptions", strconv.Itoa(r.MaxSubscriptions))
	t.add("authenticated", auth)
	t.add("endpoints", dash(strings.Join(r.Endpoints, ", ")))
	return t.write(w)
}
