package buffer_test

import (
	"testing"

	"github.com/aimdb-go/aimdb/internal/buffer"
	"github.com/aimdb-go/aimdb/internal/buffer/buffertest"
)

func TestConformance(t *testing.T) {
	buffertest.Run(t, buffertest.Factories{
		Ring:    func(n int) buffer.Buffer[int] { return buffer.NewRing[int](n) },
		Latest:  func() buffer.Buffer[int] { return buffer.NewLatest[int]() },
		Mailbox: func() buffer.Buffer[int] { return buffer.NewMailbox[int]() },
	})
}

func TestNewByKind(t *testing.T) {
	for _, k := range []buffer.Kind{buffer.KindRing, buffer.KindLatest, buffer.KindMailbox} {
		if got := buffer.New[int](k, 4).Kind(); got != k {
			t.Errorf("New(%q).Kind() = %q", k, got)
		}
	}
}
