package aimx

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/aimdb-go/aimdb/codec"
)

// Schemas describes the data contracts of a server's records for other
// languages: the reply of schema.list, an extension of this package's
// server that AimDB does not have.
type Schemas struct {
	// JSONSchema is one JSON Schema (2020-12) document of every contract
	// and version (codec.JSONSchema).
	JSONSchema json.RawMessage `json:"json_schema"`
	// TypeScript declares the same payloads (codec.TypeScript).
	TypeScript string `json:"typescript"`
}

// schemaCache builds a server's Schemas once.
type schemaCache struct {
	once sync.Once
	s    Schemas
	err  error
}

// Schemas returns the description of ServerOptions.Contracts: an empty
// JSON Schema document and no declarations when there are none, an
// error when a contract cannot be exported (codec.JSONSchema).
func (s *Server) Schemas() (Schemas, error) {
	c := &s.schemas
	c.once.Do(func() {
		doc, err := codec.JSONSchema(s.opts.Contracts...)
		if err != nil {
			c.err = err
			return
		}
		ts, err := codec.TypeScript(s.opts.Contracts...)
		c.s, c.err = Schemas{JSONSchema: doc, TypeScript: ts}, err
	})
	return c.s, c.err
}

// schemaList answers schema.list.
func (ss *session) schemaList(ctx context.Context, id uint64) error {
	s, err := ss.srv.Schemas()
	if err != nil {
		ss.srv.log.Error("schema.list: the contracts cannot be exported", "err", err)
		return ss.replyErr(ctx, id, CodeInternal)
	}
	return ss.reply(ctx, id, s)
}

// Schemas returns the server's description of its data contracts:
// schema.list, an extension of this package's server (ServerOptions.
// Contracts). An AimDB server answers not_found.
func (c *Client) Schemas(ctx context.Context) (Schemas, error) {
	var s Schemas
	return s, c.Call(ctx, "schema.list", nil, &s)
}
