/* mcentral.c: per-class lists of spans no thread owns, and the remote-free
 * protocol that feeds them.  See malloc.c, point 4.
 *
 * A span's `remote` word is a lock-free stack of objects freed by threads
 * that do not own the span; its low bit, NOTIFY, is set by an owner that
 * detached the span because it had no free objects left.  Then:
 *
 *   - a remote free pushes with one CAS.  The one that finds NOTIFY set
 *     clears it in the same CAS, disowns the span and puts it on mcentral;
 *   - an owner that frees into its own detached span clears NOTIFY with a CAS
 *     and keeps the span (mcache.c, reclaim_detached); whichever CAS comes
 *     first decides, so the span is never both owned and on mcentral;
 *   - a thread that takes a span from mcentral owns it, then collects the
 *     remote stack with one atomic exchange.
 *
 * Objects on the remote stack still count in the span's `used`; the owner
 * subtracts them when it collects them.  So used == 0 means the owner holds
 * every object, and the span can go back to the page heap.
 */
#include "alloc/internal.h"

typedef struct central {
    hpi_lock_t lock;
    hpi_span_t *head; /* lock: unowned spans with free objects, doubly linked */
    size_t nspans;    /* lock */
} __attribute__((aligned(HPI_CACHE_LINE))) central_t;

static central_t centrals[HPI_NUM_CLASSES];

HPI_CORE size_t hpi_span_collect_remote(hpi_span_t *s)
{
    if (atomic_load_explicit(&s->remote, memory_order_relaxed) == 0) return 0;
    uintptr_t h = atomic_exchange_explicit(&s->remote, 0, memory_order_acquire);
    hpi_block_t *first = (hpi_block_t *)(h & ~HPI_REMOTE_NOTIFY);
    if (first == NULL) return 0;
    size_t n = 1;
    hpi_block_t *last = first;
    while (last->next != NULL) {
        last = last->next;
        n++;
    }
    last->next = s->free;
    s->free = first;
    s->used -= (uint32_t)n;
    return n;
}

HPI_CORE void hpi_span_disown(hpi_span_t *s)
{
    atomic_store_explicit(&s->xowner, 0, memory_order_release);
}

HPI_CORE void hpi_span_push_remote(hpi_span_t *s, void *first, void *last)
{
    hpi_block_t *b = first, *tail = last;
    uintptr_t h = atomic_load_explicit(&s->remote, memory_order_relaxed);
    do {
        tail->next = (hpi_block_t *)(h & ~HPI_REMOTE_NOTIFY);
    } while (!atomic_compare_exchange_weak_explicit(&s->remote, &h, (uintptr_t)b,
                                                    memory_order_acq_rel, memory_order_relaxed));
    if (h & HPI_REMOTE_NOTIFY) {
        hpi_span_disown(s);
        hpi_central_put(s->sizeclass, s);
    }
}

HPI_CORE void hpi_central_put(unsigned c, hpi_span_t *s)
{
    central_t *ct = &centrals[c];
    hpi_lock(&ct->lock);
    s->queue = HPI_Q_CENTRAL;
    s->prev = NULL;
    s->next = ct->head;
    if (ct->head) ct->head->prev = s;
    ct->head = s;
    ct->nspans++;
    hpi_unlock(&ct->lock);
}

HPI_CORE hpi_span_t *hpi_central_take(unsigned c, hpi_mcache_t *mc)
{
    central_t *ct = &centrals[c];
    if (__atomic_load_n(&ct->head, __ATOMIC_RELAXED) == NULL) return NULL;
    hpi_lock(&ct->lock);
    hpi_span_t *s = ct->head;
    if (s != NULL) {
        ct->head = s->next;
        if (ct->head) ct->head->prev = NULL;
        ct->nspans--;
    }
    hpi_unlock(&ct->lock);
    if (s == NULL) return NULL;
    s->next = s->prev = NULL;
    s->queue = HPI_Q_NONE;
    atomic_store_explicit(&s->xowner, (uintptr_t)mc, memory_order_relaxed);
    hpi_span_collect_remote(s);
    return s;
}

void hpi_central_fork_prepare(void)
{
    for (unsigned c = 0; c < HPI_NUM_CLASSES; c++) hpi_lock(&centrals[c].lock);
}

void hpi_central_fork_parent(void)
{
    for (unsigned c = 0; c < HPI_NUM_CLASSES; c++) hpi_unlock(&centrals[c].lock);
}

void hpi_central_fork_child(void)
{
    for (unsigned c = 0; c < HPI_NUM_CLASSES; c++) hpi_lock_reinit(&centrals[c].lock);
}
