/* cpuring.c: the CPU profiler's sample ring.  See cpuring.h.
 *
 * The algorithm is Dmitry Vyukov's bounded MPMC queue, used here with one
 * consumer.  Every slot carries a sequence number; position p (a 64-bit
 * counter that never wraps in practice) maps to slot p & mask, and
 *
 *   slot.seq == p        the slot is free for the producer of position p;
 *   slot.seq == p + 1    the producer of p has published it;
 *   slot.seq == p + n    the consumer released it: free for position p + n.
 *
 * A producer reads tail, checks that the slot of that position is free
 * (seq == tail), and claims the position with one CAS on tail; if the slot
 * still holds an unconsumed record (seq < tail) the ring is full.  The
 * consumer reads slots in position order and stops at the first one not yet
 * published.  No step waits for another thread, so a signal handler can
 * never block: the worst a stalled producer does is hold back the consumer
 * at its slot until it publishes.
 */
#include <errno.h>

#include "prof/cpuring.h"

int hpi_cpuring_init(hpi_cpuring_t *r, uint64_t nrecs)
{
    if (nrecs == 0 || (nrecs & (nrecs - 1)) != 0) return EINVAL;
    void *p;
    int err = hpi_os_reserve(nrecs * sizeof(hpi_cpurec_t), 4096, &p);
    if (err != 0) return err;
    r->recs = p;
    r->mask = nrecs - 1;
    hpi_cpuring_reset(r);
    return 0;
}

void hpi_cpuring_reset(hpi_cpuring_t *r)
{
    for (uint64_t i = 0; i <= r->mask; i++)
        atomic_store_explicit(&r->recs[i].seq, i, memory_order_relaxed);
    atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
    atomic_store_explicit(&r->lost, 0, memory_order_relaxed);
    r->head = 0;
    atomic_thread_fence(memory_order_release);
}

hpi_cpurec_t *hpi_cpuring_reserve(hpi_cpuring_t *r)
{
    uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    for (;;) {
        hpi_cpurec_t *rec = &r->recs[pos & r->mask];
        uint64_t seq = atomic_load_explicit(&rec->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->tail, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                rec->pos = pos;
                return rec;
            }
            /* pos now holds the current tail: try again there. */
        } else if (diff < 0) {
            atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
            return NULL;
        } else {
            pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
        }
    }
}

void hpi_cpuring_publish(hpi_cpuring_t *r, hpi_cpurec_t *rec)
{
    (void)r;
    atomic_store_explicit(&rec->seq, rec->pos + 1, memory_order_release);
}

hpi_cpurec_t *hpi_cpuring_peek(hpi_cpuring_t *r)
{
    hpi_cpurec_t *rec = &r->recs[r->head & r->mask];
    uint64_t seq = atomic_load_explicit(&rec->seq, memory_order_acquire);
    return seq == r->head + 1 ? rec : NULL;
}

void hpi_cpuring_release(hpi_cpuring_t *r, hpi_cpurec_t *rec)
{
    atomic_store_explicit(&rec->seq, r->head + r->mask + 1, memory_order_release);
    r->head++;
}

uint64_t hpi_cpuring_take_lost(hpi_cpuring_t *r)
{
    return atomic_exchange_explicit(&r->lost, 0, memory_order_relaxed);
}
