package ringmin

import (
	"sync"
	"testing"
)

func TestRingStreamsInOrder(t *testing.T) {
	r := NewRing[uint64](64)
	readers := []*Reader[uint64]{r.Subscribe(), r.Subscribe()}
	var wg sync.WaitGroup
	for _, rd := range readers {
		wg.Go(func() {
			var next uint64
			for {
				v, lag, ok := rd.Recv()
				if !ok {
					return
				}
				if lag > 0 {
					next += lag
					continue
				}
				if v != next {
					t.Errorf("got %d, want %d", v, next)
					return
				}
				next++
			}
		})
	}
	for i := range uint64(200_000) {
		r.Push(i)
	}
	r.Close()
	wg.Wait()
}

func TestRingLagResumesAtOldest(t *testing.T) {
	r := NewRing[int](4)
	rd := r.Subscribe()
	for i := range 10 {
		r.Push(i)
	}
	if _, lag, ok := rd.TryRecv(); !ok || lag != 6 {
		t.Fatalf("TryRecv lag = %d, %v; want 6", lag, ok)
	}
	if v, _, _ := rd.TryRecv(); v != 6 {
		t.Fatalf("after lag got %d; want 6", v)
	}
}

func TestSlots(t *testing.T) {
	for name, l := range map[string]interface {
		Push(int)
		Close()
	}{"mutex": &MutexLatest[int]{}, "seq": &SeqLatest[int]{}, "ptr": &PtrLatest[int]{}} {
		var rd *LatestReader[int]
		switch l := l.(type) {
		case *MutexLatest[int]:
			rd = l.Subscribe()
		case *SeqLatest[int]:
			rd = l.Subscribe()
		case *PtrLatest[int]:
			rd = l.Subscribe()
		}
		l.Push(1)
		l.Push(2)
		if v, _, ok := rd.Recv(); v != 2 || !ok {
			t.Errorf("%s latest: Recv = %d, %v; want 2", name, v, ok)
		}
		l.Close()
		if _, _, ok := rd.Recv(); ok {
			t.Errorf("%s latest: Recv after close ok", name)
		}
	}
	for name, m := range map[string]interface {
		Push(int)
		Subscribe() *MailboxReader[int]
	}{"seq": &SeqMailbox[int]{}, "mutex": &MutexMailbox[int]{}} {
		a, b := m.Subscribe(), m.Subscribe()
		m.Push(1)
		m.Push(2)
		if v, _, _ := a.Recv(); v != 2 {
			t.Errorf("%s mailbox: got %d; want 2", name, v)
		}
		if _, ok := b.take(); ok {
			t.Errorf("%s mailbox: second reader took a value", name)
		}
	}
}
