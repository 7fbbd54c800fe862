/* A benchmark built against an installed hotpath: libhotpath_bench.a
 * supplies main.  Run with -benchtime 10x; prints Go's format. */
#include <stdlib.h>

#include <hotpath/bench.h>

HP_BENCHMARK(InstalledMalloc)
{
    hp_b_report_allocs(b);
    for (int64_t i = 0; i < b->n; i++) {
        void *p = malloc(64);
        hp_keep(p);
        free(p);
    }
}
