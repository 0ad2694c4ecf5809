package aimx

import (
	"context"
	"errors"
	"strings"

	"github.com/aimdb-go/aimdb"
)

// Live discovery: a wildcard subscription whose pattern can match an
// instance of a record family grows. The session watches the records the
// DB adds (DB.WatchRecords), one watcher for all its growing
// subscriptions, and serves each new record that matches within the
// subscription that matched it: same sub id, the same seq.

// grows reports whether a wildcard pattern can match an instance of a
// registered family, that is whether records it matches may appear later.
func (ss *session) grows(pattern string) bool {
	for _, fm := range ss.srv.db.Families() {
		if topicsOverlap(pattern, familyPattern(fm.Template)) {
			return true
		}
	}
	return false
}

// familyPattern turns a family template into the pattern its instances
// match: each capture segment "{x}" becomes "*".
func familyPattern(tmpl string) string {
	segs := strings.Split(tmpl, ".")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, ".")
}

// topicsOverlap reports whether some topic matches both pattern, with
// "*" and "#" segments, and fam, whose segments are literals or "*".
func topicsOverlap(pattern, fam string) bool {
	p, f := strings.Split(pattern, "."), strings.Split(fam, ".")
	// ok[i][j]: p[i:] and f[j:] overlap.
	ok := make([][]bool, len(p)+1)
	for i := range ok {
		ok[i] = make([]bool, len(f)+1)
	}
	ok[len(p)][len(f)] = true
	for i := len(p) - 1; i >= 0; i-- {
		for j := len(f); j >= 0; j-- {
			switch {
			case p[i] == "#":
				ok[i][j] = ok[i+1][j] || j < len(f) && ok[i][j+1]
			case j == len(f):
			case p[i] == "*" || f[j] == "*" || p[i] == f[j]:
				ok[i][j] = ok[i+1][j+1]
			}
		}
	}
	return ok[0][0]
}

// watch registers the session's watcher if it has none; ss.mu is held.
func (ss *session) watch() {
	ss.growing++
	if ss.unwatch == nil {
		ss.unwatch = ss.srv.db.WatchRecords(ss.added)
	}
}

// unwatchOne releases a growing subscription's hold on the watcher,
// cancelling it with the last; ss.mu is held.
func (ss *session) unwatchOne() {
	ss.growing--
	if ss.growing == 0 && ss.unwatch != nil {
		ss.unwatch()
		ss.unwatch = nil
	}
}

// added is the session's DB.WatchRecords callback. It runs before the
// record's first value is stored, so the subscriptions it takes see
// every value. It does not block.
func (ss *session) added(key string) {
	ss.mu.Lock()
	if ss.closing {
		ss.mu.Unlock()
		return
	}
	var subs []*subscription
	for _, sub := range ss.subs {
		if sub.grows && MatchTopic(sub.pattern, key) {
			subs = append(subs, sub)
		}
	}
	if len(subs) == 0 {
		ss.mu.Unlock()
		return
	}
	ss.wg.Add(1) // before run waits: the pumps started below are waited for
	ss.mu.Unlock()
	defer ss.wg.Done()
	if !ss.readable(key) {
		return
	}
	r, err := ss.srv.db.Remote(key)
	if err != nil {
		return // no remote access
	}
	id := r.Metadata().RecordID
	for _, sub := range subs {
		st, err := r.SubscribeLatest()
		if err != nil {
			continue
		}
		sub.add(key, id, st)
	}
}

// A pending record is one a growing subscription serves once it started.
type pending struct {
	key string
	st  *aimdb.RemoteSubscription
}

// served is a record a growing subscription serves under its key.
type served struct {
	id   uint32 // RecordID: a new instance under the same key has another
	next *aimdb.RemoteSubscription
}

// add serves a record found by the watcher. A record the subscription
// serves already is skipped; a new instance under the key of one that is
// being evicted is served after it.
func (sub *subscription) add(key string, id uint32, st *aimdb.RemoteSubscription) {
	sub.dmu.Lock()
	defer sub.dmu.Unlock()
	if sub.ctx.Err() != nil {
		st.Close()
		return
	}
	if s, ok := sub.recs[key]; ok {
		if s.id == id {
			st.Close()
			return
		}
		if s.next != nil {
			s.next.Close()
		}
		s.id, s.next = id, st
		return
	}
	sub.recs[key] = &served{id: id}
	if !sub.started {
		sub.pending = append(sub.pending, pending{key, st})
		return
	}
	sub.ss.wg.Go(func() { sub.pump(sub.ctx, key, st) })
}

// claim records that the initial scan serves the record r under key; it
// reports false when the watcher got there first.
func (sub *subscription) claim(key string, id uint32) bool {
	sub.dmu.Lock()
	defer sub.dmu.Unlock()
	if _, ok := sub.recs[key]; ok {
		return false
	}
	sub.recs[key] = &served{id: id}
	return true
}

// start starts the pumps of the records the watcher found while the
// subscription was being set up.
func (sub *subscription) start() {
	sub.dmu.Lock()
	defer sub.dmu.Unlock()
	sub.started = true
	for _, p := range sub.pending {
		sub.ss.wg.Go(func() { sub.pump(sub.ctx, p.key, p.st) })
	}
	sub.pending = nil
}

// abandon closes the streams of a growing subscription that never
// started.
func (sub *subscription) abandon() {
	sub.dmu.Lock()
	defer sub.dmu.Unlock()
	for _, p := range sub.pending {
		p.st.Close()
	}
	sub.pending = nil
}

// ended is called when the pump of key stops receiving, with the error
// that stopped it. It returns the stream of a new instance under the
// same key to continue with, or nil.
func (sub *subscription) ended(ctx context.Context, key string, err error) *aimdb.RemoteSubscription {
	if !sub.grows {
		return nil
	}
	sub.dmu.Lock()
	defer sub.dmu.Unlock()
	s := sub.recs[key]
	if s == nil {
		return nil
	}
	if s.next != nil && ctx.Err() == nil && errors.Is(err, aimdb.ErrClosed) {
		next := s.next
		s.next = nil
		return next
	}
	if s.next != nil {
		s.next.Close()
	}
	delete(sub.recs, key)
	return nil
}
