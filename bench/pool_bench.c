/* bench/pool_bench.c: what an hp_pool_t get+put costs beside the malloc+free
 * it replaces, for a small object (64 B) and a buffer (64 KiB, which
 * malloc serves from the page heap), on one thread and on -cpu threads.
 * A harness program (hotpath/bench.h); compare the two sides with
 *   bench_pool -count 6 | hotpath benchstat -col /impl -
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpath/bench.h"
#include "hotpath/pool.h"

static size_t obj_size;
static hp_pool_t *pool_64, *pool_64k;

static void *new_64(void) { return malloc(64); }
static void *new_64k(void) { return malloc(65536); }

static hp_pool_t *pool_for(size_t size) { return size == 64 ? pool_64 : pool_64k; }

static void use(char *p)
{
    p[0] = 1; /* the caller's work touches the object */
    hp_keep(p);
}

static void with_malloc(hp_b_t *b)
{
    size_t size = (size_t)(uintptr_t)b->arg;
    for (int64_t i = 0; i < b->n; i++) {
        char *p = malloc(size);
        use(p);
        free(p);
    }
}

static void with_pool(hp_b_t *b)
{
    hp_pool_t *pool = pool_for((size_t)(uintptr_t)b->arg);
    for (int64_t i = 0; i < b->n; i++) {
        char *p = hp_pool_get(pool);
        use(p);
        hp_pool_put(pool, p);
    }
}

static void par_malloc_body(hp_pb_t *pb)
{
    while (hp_pb_next(pb)) {
        char *p = malloc(obj_size);
        use(p);
        free(p);
    }
}

static void par_pool_body(hp_pb_t *pb)
{
    hp_pool_t *pool = pool_for(obj_size);
    while (hp_pb_next(pb)) {
        char *p = hp_pool_get(pool);
        use(p);
        hp_pool_put(pool, p);
    }
}

static void par_malloc(hp_b_t *b) { hp_b_run_parallel(b, par_malloc_body); }
static void par_pool(hp_b_t *b) { hp_b_run_parallel(b, par_pool_body); }

static void sizes(hp_b_t *b, hp_bench_fn *m, hp_bench_fn *p)
{
    static const size_t size[] = {64, 65536};
    char name[64];
    for (int i = 0; i < 2; i++) {
        obj_size = size[i];
        snprintf(name, sizeof name, "size=%zu/impl=malloc", size[i]);
        hp_b_run_with(b, name, m, (void *)(uintptr_t)size[i]);
        snprintf(name, sizeof name, "size=%zu/impl=pool", size[i]);
        hp_b_run_with(b, name, p, (void *)(uintptr_t)size[i]);
    }
}

HP_BENCHMARK(GetPut)
{
    if (pool_64 == NULL) pool_64 = hp_pool_new(new_64, NULL, free);
    if (pool_64k == NULL) pool_64k = hp_pool_new(new_64k, NULL, free);
    sizes(b, with_malloc, with_pool);
}

HP_BENCHMARK(GetPutParallel)
{
    if (pool_64 == NULL) pool_64 = hp_pool_new(new_64, NULL, free);
    if (pool_64k == NULL) pool_64k = hp_pool_new(new_64k, NULL, free);
    sizes(b, par_malloc, par_pool);
}
