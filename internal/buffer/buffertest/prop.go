//go:build !tinygo

package buffertest

import (
	"testing"

	"pgregory.net/rapid"
)

// The model tests use this slice of rapid's API. On the gc targets it is
// rapid itself, with random seeds, shrinking and fail files;
// prop_tinygo.go stands in for it under TinyGo, where rapid cannot run.

type propT = rapid.T

func propCheck(t *testing.T, prop func(*propT)) { rapid.Check(t, prop) }

func drawIntRange(t *propT, lo, hi int, label string) int {
	return rapid.IntRange(lo, hi).Draw(t, label)
}

func drawInt(t *propT, label string) int { return rapid.Int().Draw(t, label) }

func repeat(t *propT, actions map[string]func(*propT)) { t.Repeat(actions) }
