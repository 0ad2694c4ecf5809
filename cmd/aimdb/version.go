package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/aimdb-go/aimdb/aimx"
)

// version returns the module version aimdb was built from, "(devel)"
// for a build inside the repository.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of aimdb and of the AimX protocol it speaks",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.json() {
				return writeJSON(a.stdout, map[string]string{"version": version(), "aimx": aimx.Version, "go": runtime.Version()})
			}
			_, err := fmt.Fprintf(a.stdout, "aimdb %s (AimX %s, %s)\n", version(), aimx.Version, runtime.Version())
			return err
		},
	}
}
