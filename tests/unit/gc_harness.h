/* gc_harness.h: what the gc_test subtests share (gc_harness.c).  See gc_test.c. */
#ifndef HPT_GC_HARNESS_H
#define HPT_GC_HARNESS_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>


#define POISON 0xdbdbdbdbdbdbdbdbULL  /* HOTPATH_GC_POISON's fill, read as a word */
#define OBF_KEY 0x5a5a5a5a5a5a5a5aULL /* p ^ OBF_KEY is no pointer the collector knows */
#define MiB ((uint64_t)1 << 20)
#define NOINLINE __attribute__((noinline))


extern const char *sub; /* the running subtest */
extern atomic_uint checks, fails;

bool expect_at(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* EXPECT(cond, "what went wrong", ...): counts, and prints a FAIL line. */
#define EXPECT(cond, ...) expect_at(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void install_handlers(unsigned alarm_s);
uint64_t now_ns(clockid_t clock);
void sleep_ms(long ms);
void clear_stack(void);
void *xalloc(size_t n);
void *xalloc_noscan(size_t n);
void collect_n(int n);
bool poll_count(atomic_long *c, long want, int secs);
bool is_poison(const void *p);

/* The subtests (gc_test.c, gc_test_more.c). */
void test_trees(void);
void test_graph(void);
void test_graph_barrier(void);
void test_finalizers(void);
void test_roots(void);
void test_memlimit(void);
void test_heapprof(void);
void test_gctrace(void);
void test_stats(void);
void test_misc(void);
int gctrace_child(void);

#endif /* HPT_GC_HARNESS_H */
