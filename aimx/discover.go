package aimx

import (
	"strings"

	"github.com/aimdb-go/aimdb"
)

// Live discovery: a wildcard subscription whose pattern can match an
// instance of a record family grows. The session watches the records the
// DB adds (DB.WatchRecords), one watcher for all its growing
// subscriptions, and serves each new record that matches within the
// subscription that matched it: same sub id, the same seq, the same
// goroutine.

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
// record's first value is stored, so the streams it takes see every
// value. It does not block.
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
	ss.wg.Add(1) // before run waits: run returns after the streams taken below are handed over
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

// add serves a record found by the watcher. A record the subscription
// serves already is skipped; a new instance under the key of one that is
// being evicted is served after it. A new record beyond the session's
// MaxSubscribedRecords is not served, and counted.
func (sub *subscription) add(key string, id uint32, st *aimdb.RemoteSubscription) {
	s := sub.newStream(key, st)
	var drop *aimdb.RemoteSubscription
	over := false
	sub.mu.Lock()
	r, ok := sub.recs[key]
	switch {
	case sub.closed:
		drop = st
	case ok && r.id == id:
		drop = st
	case ok:
		if r.next != nil {
			drop = r.next.st
		}
		r.id, r.next = id, s
	case !sub.ss.reserve(1):
		drop, over = st, true
	default:
		sub.recs[key] = &served{id: id, cur: s}
		sub.queueLocked(s)
	}
	sub.mu.Unlock()
	if drop != nil {
		drop.Close()
	}
	if over {
		sub.ss.srv.stats.recordsOverCap.Add(1)
		sub.ss.srv.log.Debug("subscription: record not served: MaxSubscribedRecords reached",
			"pattern", sub.pattern, "record", key, "max", sub.ss.srv.opts.MaxSubscribedRecords)
		return
	}
	sub.wake()
}
