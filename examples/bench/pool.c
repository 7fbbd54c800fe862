/* pool.c: a 1 KiB scratch buffer per request from malloc/free vs one
 * reused from a per-thread pool of idle buffers (a sync.Pool in the small;
 * hotpath's own pools are hp_pool_t once they exist).  The request copies
 * 256 bytes into the buffer, works on them, and returns a copy. */
#include <stdlib.h>
#include <string.h>

#include "hotpath/bench.h"

#define BUF 1024
#define DATA 256

static _Thread_local void *idle[8];
static _Thread_local int nidle;

static void *pool_get(void)
{
    if (nidle > 0) return idle[--nidle];
    return malloc(BUF);
}

static void pool_put(void *p)
{
    if (nidle < 8)
        idle[nidle++] = p;
    else
        free(p);
}

static char *process(const char *data, void *(*get)(void), void (*put)(void *))
{
    char *buf = get();
    if (buf == NULL) abort();
    memcpy(buf, data, DATA);
    for (int k = 0; k < DATA; k++)
        buf[k] ^= 0x20;
    char *out = malloc(DATA);
    if (out == NULL) abort();
    memcpy(out, buf, DATA);
    put(buf);
    return out;
}

static void *plain_get(void)
{
    return malloc(BUF);
}

static void run(hp_b_t *b, void *(*get)(void), void (*put)(void *))
{
    static char data[DATA];
    hp_b_report_allocs(b);
    for (int64_t i = 0; i < b->n; i++) {
        char *out = process(data, get, put);
        hp_keep(out[0]);
        free(out);
    }
}

static void with_malloc(hp_b_t *b)
{
    run(b, plain_get, free);
}

static void with_pool(hp_b_t *b)
{
    run(b, pool_get, pool_put);
}

HP_BENCHMARK(Buffer)
{
    hp_b_run(b, "impl=malloc", with_malloc);
    hp_b_run(b, "impl=pool", with_pool);
}
