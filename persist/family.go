package persist

import (
	"context"
	"strings"

	"github.com/aimdb-go/aimdb"
)

// AttachFamily persists every instance of fam as Attach persists a
// record, with the same options for each, and makes the DB recreate, when
// it starts, the instances that have stored values, each restored with
// its newest values. Call it before the DB runs.
func AttachFamily[T any](fam *aimdb.Family[T], s *Store, c aimdb.Codec[T], opts *Options) {
	if c == nil {
		fam.Persist(nil) // reported by Run as a configuration mistake
		return
	}
	fp := &familyPersister[T]{s: s, codec: c, pattern: templatePattern(fam.Key().Template())}
	if opts != nil {
		fp.opts = *opts
	}
	fam.Persist(fp)
}

type familyPersister[T any] struct {
	s       *Store
	codec   aimdb.Codec[T]
	opts    Options
	pattern string
}

func (fp *familyPersister[T]) Instance(key string) aimdb.Persister[T] {
	p := newPersister(key, fp.s, fp.codec, &fp.opts)
	fp.s.add(p)
	return p
}

func (fp *familyPersister[T]) Keys(ctx context.Context) ([]string, error) {
	rows, err := fp.s.b.Latest(ctx, fp.pattern)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.Key
	}
	return keys, nil
}

func (fp *familyPersister[T]) Service() aimdb.Service { return fp.s }

// templatePattern turns a family template into the query pattern of its
// instances: each segment holding a capture becomes "*". The family
// checks each key against its template.
func templatePattern(tmpl string) string {
	if strings.ContainsRune(tmpl, '/') {
		return "#"
	}
	segs := strings.Split(tmpl, ".")
	for i, s := range segs {
		if strings.ContainsRune(s, '{') {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, ".")
}
