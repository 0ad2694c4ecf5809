package aimdb

import "sync"

// recordWatchers are the functions WatchRecords registered.
type recordWatchers struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(key string)
}

// WatchRecords calls f with the key of every record added from now on:
// the family instances created while the DB runs. f is called in the
// goroutine that created the record (a producer, an inbound link, a
// derived family's stage), after the record is registered and before its
// first value is stored, with no lock held; it must return quickly, for
// example by queueing the key. The returned function stops the calls.
// Servers use it to extend wildcard subscriptions to new records.
func (db *DB) WatchRecords(f func(key string)) (cancel func()) {
	w := &db.watchers
	w.mu.Lock()
	if w.fns == nil {
		w.fns = map[int]func(string){}
	}
	id := w.next
	w.next++
	w.fns[id] = f
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.fns, id)
		w.mu.Unlock()
	}
}

// notifyAdded calls the watchers with a new record's key.
func (db *DB) notifyAdded(key string) {
	w := &db.watchers
	w.mu.Lock()
	if len(w.fns) == 0 {
		w.mu.Unlock()
		return
	}
	fns := make([]func(string), 0, len(w.fns))
	for _, f := range w.fns {
		fns = append(fns, f)
	}
	w.mu.Unlock()
	for _, f := range fns {
		f(key)
	}
}
