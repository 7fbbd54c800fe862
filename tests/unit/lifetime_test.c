/* lifetime_test: allocation at every stage of a process's life.
 *
 * Blocks are allocated before main (a constructor of priority 101, which runs
 * before any default-priority constructor of this program, and a default one),
 * by a C++ static object (lifetime_static.cc), in main, in atexit handlers
 * (one registered from inside another), in a C++ static destructor and in
 * destructors; blocks from before main are checked and freed after main
 * returns.  Each stage sets a bit; the last destructor to run (priority 101)
 * checks that every stage ran and found its blocks intact and prints
 * "lifetime: all stages ok" with write(2), since stdio may be gone by then.
 * tests/expect_output.sh checks the marker and the exit status, so a crash in
 * the allocator's own exit code after the marker still fails the test.
 *
 * Usage: lifetime_test   (exit status 0 and the marker line on success)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotpath/hotpath.h"

enum {
    ST_CTOR101 = 1 << 0,
    ST_CTOR = 1 << 1,
    ST_MAIN = 1 << 2,
    ST_ATEXIT = 1 << 3,
    ST_ATEXIT_NESTED = 1 << 4,
    ST_DTOR = 1 << 5,
    ST_CXX_CTOR = 1 << 6,
    ST_CXX_DTOR = 1 << 7,
    ST_ALL = (1 << 8) - 1,
};

static unsigned stages, damaged;

/* Called from lifetime_static.cc. */
void lifetime_mark(unsigned stage, int ok)
{
    stages |= stage;
    damaged |= ok ? 0 : stage;
}

static void say(const char *s)
{
    ssize_t r = write(1, s, strlen(s));
    (void)r;
}

typedef struct {
    unsigned char *p;
    size_t n;
} block_t;

enum { NB = 12 };
static block_t early[NB], main_blocks[NB];

static void fill(block_t *b)
{
    for (size_t i = 0; i < b->n; i++) b->p[i] = (unsigned char)(i * 13 + b->n);
}

static int intact(const block_t *b)
{
    if (!b->p) return 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->p[i] != (unsigned char)(i * 13 + b->n)) return 0;
    return 1;
}

/* Allocates NB blocks of mixed sizes and kinds. */
static int alloc_set(block_t *set, size_t base)
{
    int ok = 1;
    for (int i = 0; i < NB; i++) {
        size_t n = base + (size_t)i * i * 997 + (i == NB - 1 ? 200000 : 0);
        void *p;
        switch (i % 4) {
        case 0: p = malloc(n); break;
        case 1: p = calloc(1, n); break;
        case 2: p = posix_memalign(&p, 256, n) ? NULL : p; break;
        default: p = realloc(malloc(10), n); break;
        }
        set[i] = (block_t){p, n};
        ok &= p != NULL;
        if (p) fill(&set[i]);
    }
    return ok;
}

/* Checks and frees every block of the set; returns 1 if all were intact. */
static int free_set(block_t *set)
{
    int ok = 1;
    for (int i = 0; i < NB; i++) {
        ok &= intact(&set[i]);
        free(set[i].p);
        set[i].p = NULL;
    }
    return ok;
}

/* A burst of allocation that leaves nothing behind. */
static int churn(size_t base)
{
    block_t tmp[NB];
    return alloc_set(tmp, base) & free_set(tmp);
}

static int hotpath_counts(void)
{
    hp_memstats_t st;
    hp_read_memstats(&st);
    return st.mallocs > 0 && st.mallocs - st.frees == st.heap_objects;
}

__attribute__((constructor(101))) static void ctor101(void)
{
    int ok = alloc_set(early, 24) && churn(5) && hotpath_counts();
    lifetime_mark(ST_CTOR101, ok);
}

static block_t *ctor_block;

__attribute__((constructor)) static void ctor_default(void)
{
    int ok = intact(&early[0]) && churn(100);
    ctor_block = malloc(sizeof *ctor_block);
    ok &= ctor_block != NULL;
    if (ctor_block) {
        ctor_block->n = 777;
        ctor_block->p = malloc(777);
        ok &= ctor_block->p != NULL;
        if (ctor_block->p) fill(ctor_block);
    }
    lifetime_mark(ST_CTOR, ok);
}

static void atexit_nested(void)
{
    lifetime_mark(ST_ATEXIT_NESTED, churn(3000));
}

static void atexit_handler(void)
{
    int ok = free_set(main_blocks) && churn(7);
    /* Half of the before-main blocks are freed here, half in a destructor. */
    for (int i = 0; i < NB / 2; i++) {
        ok &= intact(&early[i]);
        free(early[i].p);
        early[i].p = NULL;
    }
    ok &= atexit(atexit_nested) == 0;
    lifetime_mark(ST_ATEXIT, ok);
}

__attribute__((destructor)) static void dtor_default(void)
{
    int ok = churn(50) && ctor_block && intact(ctor_block);
    if (ctor_block) free(ctor_block->p);
    free(ctor_block);
    for (int i = NB / 2; i < NB; i++) {
        ok &= intact(&early[i]);
        free(early[i].p);
    }
    ok &= malloc(4321) != NULL; /* left allocated at exit on purpose */
    lifetime_mark(ST_DTOR, ok);
}

__attribute__((destructor(101))) static void dtor_last(void)
{
    int ok = churn(11) && hotpath_counts();
    if (stages != ST_ALL || damaged || !ok) {
        char msg[128];
        snprintf(msg, sizeof msg, "lifetime: FAILED: stages %#x of %#x ran, damaged %#x, last %d\n",
                 stages, (unsigned)ST_ALL, damaged, ok);
        say(msg);
        _exit(1);
    }
    say("lifetime: all stages ok\n");
}

int main(void)
{
    int ok = 1;
    for (int i = 0; i < NB; i++) ok &= intact(&early[i]);
    ok &= alloc_set(main_blocks, 1) && churn(17);
    ok &= atexit(atexit_handler) == 0;
    lifetime_mark(ST_MAIN, ok);
    say("lifetime: main done\n");
    return 0;
}
