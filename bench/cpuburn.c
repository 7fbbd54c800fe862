/* bench/cpuburn.c: a CPU-bound workload, to measure what CPU profiling costs.
 *
 * No allocation in the loop: three functions of different weights (hashing,
 * an insertion sort of a small array, a polynomial) run on --threads threads
 * for --ops rounds each.  Built with frame pointers so that every profiler
 * can walk its stacks cheaply.  Reports ns_per_op (one op = one round on one
 * thread, wall time divided by rounds per thread).
 */
#include "common.h"

#include <pthread.h>
#include <stdlib.h>

static long ops = 1600000, threads = 2, seed = 1;

__attribute__((noinline)) static uint64_t burn_hash(uint64_t x)
{
    for (int i = 0; i < 64; i++) x = (x ^ (x >> 31)) * 0x9E3779B97F4A7C15ULL + (uint64_t)i;
    return x;
}

__attribute__((noinline)) static uint64_t burn_sort(uint64_t x)
{
    uint32_t a[24];
    for (int i = 0; i < 24; i++) a[i] = (uint32_t)hpb_rand(&x);
    for (int i = 1; i < 24; i++)
        for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
            uint32_t t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
    return x ^ a[0] ^ a[23];
}

__attribute__((noinline)) static uint64_t burn_poly(uint64_t x)
{
    double v = (double)(x & 0xffff) / 65536.0, acc = 0;
    for (int i = 0; i < 16; i++) acc = acc * v + (double)i;
    return x + (uint64_t)acc;
}

static void *worker(void *arg)
{
    uint64_t x = hpb_seed((uint64_t)seed, (uint64_t)(uintptr_t)arg);
    for (long i = 0; i < ops; i++) x = burn_poly(burn_sort(burn_hash(x)));
    return (void *)(uintptr_t)x;
}

int main(int argc, char **argv)
{
    const hpb_opt_t opts[] = {
        {"ops", &ops, "rounds per thread"},
        {"threads", &threads, "threads"},
        {"seed", &seed, "random seed"},
    };
    hpb_parse_args(argc, argv, "CPU-bound loop without allocation; reports ns_per_op.", opts,
                   sizeof(opts) / sizeof(opts[0]));
    if (ops < 1 || threads < 1 || threads > 64) hpb_die(HPB_EXIT_USAGE, "bad ops or threads");
    pthread_t t[64];
    uint64_t t0 = hpb_now_ns();
    for (long i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0)
            hpb_die(HPB_EXIT_SYS, "pthread_create failed");
    uint64_t sum = 0;
    for (long i = 0; i < threads; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (uint64_t)(uintptr_t)r;
    }
    double secs = (double)(hpb_now_ns() - t0) / 1e9;
    hpb_escape((void *)(uintptr_t)sum);
    hpb_report("ns_per_op", secs * 1e9 / (double)ops, secs, (uint64_t)ops);
    return 0;
}
