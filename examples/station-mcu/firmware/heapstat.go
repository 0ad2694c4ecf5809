//go:build heapstat

package main

import (
	"runtime"
	"strconv"
)

// Built with -tags heapstat, every humidity reading also carries the heap
// after a collection (live_heap, bytes) and the allocations since boot
// (mallocs, alloc_bytes): the end-to-end test (qemu_test.go) checks from
// them that the heap does not grow after start-up. Extra members do not
// break the contract's decoders.
func init() {
	appendHeap = func(b []byte) []byte {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		b = append(b, `,"live_heap":`...)
		b = strconv.AppendUint(b, m.HeapInuse, 10)
		b = append(b, `,"mallocs":`...)
		b = strconv.AppendUint(b, m.Mallocs, 10)
		b = append(b, `,"alloc_bytes":`...)
		return strconv.AppendUint(b, m.TotalAlloc, 10)
	}
}
