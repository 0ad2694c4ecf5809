package aimdb

import (
	"context"
	"slices"
	"sync"
	"time"
)

// A Clock gives stages time. The DB hands its clock to every stage
// (Producer.Clock, Subscription.Clock) and uses it for restart backoff, so
// a DB built with a [VirtualClock] runs deterministically and as fast as
// the machine allows.
//
// Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep blocks for d, or until ctx is done, in which case it returns
	// ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real time of the machine. It is the default clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep implements Clock.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A VirtualClock is a Clock whose time moves only when Advance or
// AdvanceToNext is called. Sleepers whose deadline is reached are woken in
// deadline order. Use it for deterministic tests and for fast-forward
// simulation:
//
//	for clock.WaitSleepers(ctx, n) == nil {
//		clock.AdvanceToNext()
//	}
//
// The zero value is not usable; call NewVirtualClock.
type VirtualClock struct {
	mu       sync.Mutex
	now      time.Time
	sleepers []*sleeper
	changed  chan struct{} // closed and replaced when the sleeper set grows
}

type sleeper struct {
	until time.Time
	wake  chan struct{}
}

// NewVirtualClock returns a virtual clock that reads start.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start, changed: make(chan struct{})}
}

// Now implements Clock.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep implements Clock. It returns when the clock has been advanced by
// at least d, or when ctx is done.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	s := &sleeper{until: c.now.Add(d), wake: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		if i := slices.Index(c.sleepers, s); i >= 0 {
			c.sleepers = slices.Delete(c.sleepers, i, i+1)
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

// Advance moves the clock forward by d and wakes every sleeper whose
// deadline has been reached, earliest first.
func (c *VirtualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	insertionSort(c.sleepers, func(a, b *sleeper) bool { return a.until.Before(b.until) })
	n := 0
	for _, s := range c.sleepers {
		if s.until.After(c.now) {
			break
		}
		close(s.wake)
		n++
	}
	c.sleepers = slices.Delete(c.sleepers, 0, n)
}

// AdvanceToNext moves the clock to the earliest sleeper's deadline and
// wakes it (and any other sleeper due then). It reports how far the clock
// moved, and false if nobody was sleeping.
func (c *VirtualClock) AdvanceToNext() (time.Duration, bool) {
	c.mu.Lock()
	if len(c.sleepers) == 0 {
		c.mu.Unlock()
		return 0, false
	}
	next := c.sleepers[0].until
	for _, s := range c.sleepers[1:] {
		if s.until.Before(next) {
			next = s.until
		}
	}
	d := max(next.Sub(c.now), 0)
	c.mu.Unlock()
	c.Advance(d)
	return d, true
}

// Sleepers returns the number of goroutines currently sleeping on c.
func (c *VirtualClock) Sleepers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sleepers)
}

// WaitSleepers blocks until at least n goroutines are sleeping on c, or
// ctx is done.
func (c *VirtualClock) WaitSleepers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		ok, changed := len(c.sleepers) >= n, c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
