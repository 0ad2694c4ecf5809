package buffer_test

import (
	"errors"
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
)

// restorable is what Latest and Mailbox share for persisted values.
type restorable interface {
	buffer.Buffer[int]
	Restore(int) bool
	SubscribeSkipRestored() buffer.Reader[int]
}

func TestRestore(t *testing.T) {
	for name, mk := range map[string]func() restorable{
		"latest":  func() restorable { return buffer.NewLatest[int]() },
		"mailbox": func() restorable { return buffer.NewMailbox[int]() },
	} {
		t.Run(name, func(t *testing.T) {
			b := mk()
			if !b.Restore(7) {
				t.Fatal("Restore on an empty buffer refused")
			}
			if b.Restore(8) {
				t.Error("a second Restore was accepted")
			}
			if v, ok := b.Peek(); v != 7 || !ok {
				t.Errorf("Peek = %d, %v; want the restored 7", v, ok)
			}
			skip := b.SubscribeSkipRestored()
			if _, _, err := skip.TryRecv(); !errors.Is(err, buffer.ErrEmpty) {
				t.Errorf("a skipping reader got the restored value: %v", err)
			}
			if skip.Pending() {
				t.Error("a skipping reader reports the restored value pending")
			}
			plain := b.Subscribe()
			if name == "latest" {
				if v, _, err := plain.TryRecv(); v != 7 || err != nil {
					t.Errorf("a plain reader got %d, %v; want the restored 7", v, err)
				}
			}
			b.Push(9)
			if v, _, err := skip.TryRecv(); v != 9 || err != nil {
				t.Errorf("after a push the skipping reader got %d, %v; want 9", v, err)
			}
			if b.Restore(1) {
				t.Error("Restore after a push was accepted")
			}
			if s := b.Stats(); s.Produced != 1 {
				t.Errorf("produced %d, want 1: a restore is not a production", s.Produced)
			}
		})
	}
	m := buffer.NewMailbox[int]()
	m.Restore(3)
	if v, _, err := m.Subscribe().TryRecv(); v != 3 || err != nil {
		t.Errorf("a plain mailbox reader got %d, %v; want to take the restored 3", v, err)
	}
}
