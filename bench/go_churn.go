// go_churn.go: Go's own collector on the shape of gc_bench.c's churn
// workload, as a reference for hotpath's GC targets (docs/PERFORMANCE.md).
//
//	go run bench/go_churn.go [-live MB] [-alloc X] [-seed N]
//
// A table of live MB of objects: 16-1024 B, one in 1024 of 4-128 KiB, sizes
// log-uniform as bench/common.c's hpb_rand_size; half of them hold pointers
// (a []unsafe.Pointer whose first element points to a 16-256 B child), the
// others none ([]byte).  Random entries are replaced until X times the live
// size has been allocated.  The result line has gc_bench.c's fields; the
// pauses are Go's stop-the-world pauses (MemStats.PauseNs), peak RSS is
// VmHWM.  Not built by CMake: the Debian golang-go that the tests use for
// `go tool pprof` runs it.
package main

import (
	"flag"
	"fmt"
	"math/bits"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

type entry struct {
	obj  unsafe.Pointer
	size int // bytes of the object and its child, as requested
}

var table []entry // a global, as gc_bench.c's table

// randSize: a power-of-two band overlapping [lo, hi], then a uniform size in it.
func randSize(r *rand.Rand, lo, hi int) int {
	klo, khi := 63-bits.LeadingZeros64(uint64(lo)), 63-bits.LeadingZeros64(uint64(hi))
	k := klo + r.Intn(khi-klo+1)
	a, b := 1<<k, (2<<k)-1
	if a < lo {
		a = lo
	}
	if b > hi {
		b = hi
	}
	return a + r.Intn(b-a+1)
}

func newEntry(r *rand.Rand) entry {
	size := randSize(r, 16, 1024)
	if r.Intn(1024) == 0 {
		size = randSize(r, 4096, 128*1024)
	}
	if r.Intn(2) == 0 {
		b := make([]byte, size)
		return entry{unsafe.Pointer(&b[0]), size}
	}
	if size < 32 {
		size = 32
	}
	cs := randSize(r, 16, 256)
	child := make([]byte, cs)
	obj := make([]unsafe.Pointer, size/8)
	obj[0] = unsafe.Pointer(&child[0])
	return entry{unsafe.Pointer(&obj[0]), size/8*8 + cs}
}

func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func main() {
	liveMB := flag.Int("live", 500, "live heap, MB (2^20 bytes)")
	allocX := flag.Int("alloc", 10, "allocate this many times the live heap in all")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	r := rand.New(rand.NewSource(*seed))
	live := int64(*liveMB) << 20
	var sum int64
	for sum < live {
		e := newEntry(r)
		table = append(table, e)
		sum += int64(e.size)
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for allocated := int64(0); allocated < live*int64(*allocX); {
		i := r.Intn(len(table))
		e := newEntry(r)
		sum += int64(e.size - table[i].size)
		table[i] = e
		allocated += int64(e.size)
	}
	ns := time.Since(start).Nanoseconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var maxPause uint64
	for i := before.NumGC; i < ms.NumGC; i++ {
		if p := ms.PauseNs[i%256]; p > maxPause {
			maxPause = p
		}
	}
	fmt.Printf("BenchmarkChurn/impl=go/live=%dMB 1 %d ns/op %.3f max-pause-ms %.3f pause-total-ms "+
		"%d GCs %d peak-RSS-bytes %d live-bytes\n", *liveMB, ns, float64(maxPause)/1e6,
		float64(ms.PauseTotalNs-before.PauseTotalNs)/1e6, ms.NumGC-before.NumGC, peakRSS(), sum)
	fmt.Fprintf(os.Stderr, "go churn: %d entries, NextGC %d MB, %s\n", len(table), ms.NextGC>>20,
		runtime.Version())
}
