//go:build tinygo

package buffertest

import (
	"maps"
	"slices"
	"testing"
)

// rapid does not run under TinyGo. On a microcontroller without an entropy
// source, TinyGo's hash/maphash (which rapid seeds from) panics at start-up
// with "no rng"; on wasm, TinyGo cannot recover the panics rapid uses for
// Skip and Fatal. Under TinyGo the model tests therefore run propChecks
// operation sequences drawn from a fixed xorshift generator: the same
// models and the same checks as on the gc targets, without random seeds
// or shrinking.

const (
	propChecks   = 100 // sequences per model, as rapid's default
	propMaxSteps = 50  // operations per sequence
)

type propT struct {
	*testing.T
	state uint64
}

func propCheck(t *testing.T, prop func(*propT)) {
	for i := range propChecks {
		prop(&propT{T: t, state: uint64(i+1) * 0x9E3779B97F4A7C15})
		if t.Failed() {
			t.Logf("model failed in sequence %d of %d", i+1, propChecks)
			return
		}
	}
}

// Skip ends the current operation without effect, like rapid's T.Skip,
// instead of skipping the whole test. The caller returns right after it.
func (t *propT) Skip(...any) {}

// next is xorshift64*.
func (t *propT) next() uint64 {
	x := t.state
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	t.state = x
	return x * 0x2545F4914F6CDD1D
}

func drawIntRange(t *propT, lo, hi int, _ string) int {
	return lo + int(t.next()%uint64(hi-lo+1))
}

func drawInt(t *propT, _ string) int { return int(t.next()) }

// repeat runs a random number of randomly chosen actions, and the action
// named "" after each one, as rapid's T.Repeat does.
func repeat(t *propT, actions map[string]func(*propT)) {
	check := actions[""]
	names := slices.Sorted(maps.Keys(actions))
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" })
	for range drawIntRange(t, 1, propMaxSteps, "steps") {
		actions[names[t.next()%uint64(len(names))]](t)
		if check != nil && !t.Failed() {
			check(t)
		}
		if t.Failed() {
			return
		}
	}
}
