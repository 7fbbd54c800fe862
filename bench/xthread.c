/* bench/xthread.c: cross-thread frees, producer to consumer.
 *
 * One producer thread mallocs --size byte objects, stamps each with its
 * sequence number and publishes them, --batch at a time, into a lock-free
 * single-producer single-consumer ring of --ring pointers.  One consumer
 * thread takes them out in order, checks the stamp and frees them.  Every free
 * is therefore of an object another thread allocated: the allocator's remote
 * free path, and whatever it does to get the memory back to the producer.
 *
 * Reports frees_per_sec: objects freed by the consumer per wall second.
 */
#include "common.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

static long size = 32, ops = 20000000, batch = 64, ring_cap = 4096;

/* head and tail count slots from the start and never wrap; slot i lives in
 * slot[i & (cap - 1)].  Each index has its own cache line. */
typedef struct ring {
    _Alignas(64) _Atomic uint64_t head; /* next slot to fill; written by the producer */
    _Alignas(64) _Atomic uint64_t tail; /* next slot to empty; written by the consumer */
    _Alignas(64) void **slot;           /* ring_cap pointers; set before the threads start */
    uint64_t mask;                      /* ring_cap - 1 */
} ring_t;

static ring_t ring;

/* Busy-wait politely: spin a while, then give the CPU away. */
static void backoff(unsigned *spins)
{
    if (++*spins < 1000) {
        hpb_cpu_relax();
    } else {
        *spins = 0;
        sched_yield();
    }
}

static void *producer_main(void *arg)
{
    (void)arg;
    const uint64_t total = (uint64_t)ops, cap = ring.mask + 1;
    uint64_t head = 0, tail_seen = 0;
    while (head < total) {
        uint64_t b = total - head < (uint64_t)batch ? total - head : (uint64_t)batch;
        unsigned spins = 0;
        while (head + b - tail_seen > cap) {
            tail_seen = atomic_load_explicit(&ring.tail, memory_order_acquire);
            if (head + b - tail_seen > cap)
                backoff(&spins);
        }
        for (uint64_t i = head; i < head + b; i++) {
            void *p = hpb_malloc((size_t)size);
            hpb_stamp(p, (size_t)size, i);
            ring.slot[i & ring.mask] = p;
        }
        head += b;
        atomic_store_explicit(&ring.head, head, memory_order_release);
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    (void)arg;
    const uint64_t total = (uint64_t)ops;
    uint64_t tail = 0, head_seen = 0;
    while (tail < total) {
        unsigned spins = 0;
        while (head_seen == tail) {
            head_seen = atomic_load_explicit(&ring.head, memory_order_acquire);
            if (head_seen == tail)
                backoff(&spins);
        }
        for (; tail < head_seen; tail++) {
            void *p = ring.slot[tail & ring.mask];
            if (!hpb_check_stamp(p, (size_t)size, tail))
                hpb_corrupt("cross-thread free", p, (size_t)size, tail);
            free(p);
        }
        atomic_store_explicit(&ring.tail, tail, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const hpb_opt_t opts[] = {
        {"size", &size, "object size in bytes"},
        {"ops", &ops, "objects passed from producer to consumer"},
        {"batch", &batch, "objects the producer publishes at once"},
        {"ring", &ring_cap, "ring capacity in pointers (a power of two >= batch)"},
    };
    hpb_parse_args(argc, argv, "producer/consumer cross-thread frees; reports frees_per_sec.",
                   opts, sizeof(opts) / sizeof(opts[0]));
    if (size < 1 || ops < 1 || batch < 1 || ring_cap < batch || (ring_cap & (ring_cap - 1)))
        hpb_die(HPB_EXIT_USAGE, "need size, ops, batch >= 1 and ring a power of two >= batch");

    ring.slot = hpb_malloc((size_t)ring_cap * sizeof(void *));
    ring.mask = (uint64_t)ring_cap - 1;

    pthread_t prod, cons;
    uint64_t t0 = hpb_now_ns();
    hpb_thread_start(&cons, consumer_main, NULL);
    hpb_thread_start(&prod, producer_main, NULL);
    hpb_thread_join(prod);
    hpb_thread_join(cons);
    double secs = (double)(hpb_now_ns() - t0) / 1e9;

    free(ring.slot);
    hpb_report("frees_per_sec", (double)ops / secs, secs, (uint64_t)ops);
    return 0;
}
