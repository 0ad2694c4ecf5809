package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/aimdb-go/aimdb/aimx"
	"github.com/aimdb-go/aimdb/codec"
	"github.com/aimdb-go/aimdb/examples/weather-mesh/contracts"
)

func newSchemaCmd(a *app) *cobra.Command {
	var format string
	var local bool
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the data contracts as JSON Schema or TypeScript",
		Long: `Print the data contracts of a running DB (schema.list over AimX) as one
JSON Schema (2020-12) document, or as TypeScript declarations:
  jsonschema  $defs "<name>.v<n>" for each contract and version, and
              "<name>" for any version a decoder accepts (the default)
  typescript  one interface per contract and version, one union per contract
With --local, the contracts built into this program are printed instead,
without connecting: those of the weather mesh that aimdb demo runs.
A hub serves the same document at GET /schemas beside /version.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains([]string{"jsonschema", "typescript"}, format) {
				return usagef("--format %q: want jsonschema or typescript", format)
			}
			if local {
				doc, err := codec.JSONSchema(contracts.All...)
				if err != nil {
					return err
				}
				ts, err := codec.TypeScript(contracts.All...)
				if err != nil {
					return err
				}
				return writeSchemas(a.stdout, aimx.Schemas{JSONSchema: doc, TypeScript: ts}, format)
			}
			return a.withClient(cmd, func(ctx context.Context, c *aimx.Client) error {
				s, err := c.Schemas(ctx)
				if err != nil {
					return fmt.Errorf("schema.list: %w", err)
				}
				return writeSchemas(a.stdout, s, format)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "jsonschema", "output format: jsonschema or typescript")
	cmd.Flags().BoolVar(&local, "local", false, "print this program's own contracts (the weather mesh's), without connecting")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"jsonschema", "typescript"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// writeSchemas prints s in format; JSON Schema indented, the same
// whether it came over AimX (compacted to one line) or not.
func writeSchemas(w io.Writer, s aimx.Schemas, format string) error {
	if format == "typescript" {
		_, err := io.WriteString(w, s.TypeScript)
		return err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, bytes.TrimSpace(s.JSONSchema), "", "  "); err != nil {
		return fmt.Errorf("schema.list: the JSON Schema is not JSON: %w", err)
	}
	b.WriteByte('\n')
	_, err := b.WriteTo(w)
	return err
}
