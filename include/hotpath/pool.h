/* hotpath/pool.h: object pools like Go's sync.Pool.
 *
 *   static void *new_buf(void) { return malloc(65536); }
 *   static hp_pool_t *bufs;
 *   ...
 *   bufs = hp_pool_new(new_buf, NULL, free);
 *   char *b = hp_pool_get(bufs);      // an idle buffer, or a new one
 *   ...
 *   hp_pool_put(bufs, b);             // idle again, for anyone
 *
 * A pool keeps idle objects for reuse, so that a hot path does not build
 * and destroy them again and again.  It is a cache, not a free list: idle
 * objects move to a victim cache at every cycle and are destroyed at the
 * next one if nobody took them, so a pool does not hold memory a burst
 * needed once.  Each GC cycle is a pool cycle once the program uses the GC
 * heap (hotpath/gc.h); before that, a cycle is hp_pool_trim() or the timer
 * (HOTPATH_POOL_TRIM_MS, default 5000 ms; 0: only hp_pool_trim).
 *
 * Any thread may get and put.  Each thread has a shard of its own in every
 * pool (a private slot and a short stack); a thread whose shard is empty
 * takes from the others' before it builds a new object.  Pools live as
 * long as the process.  See docs/POOL.md.
 */
#ifndef HOTPATH_POOL_H
#define HOTPATH_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hp_pool hp_pool_t;

/* A pool whose get builds a missing object with new_fn (NULL: get returns
 * NULL when the pool is empty); put calls reset(obj) first when given, and
 * the pool destroys the objects it drops with destroy (NULL: free).
 * Returns NULL when out of memory. */
hp_pool_t *hp_pool_new(void *(*new_fn)(void), void (*reset)(void *obj), void (*destroy)(void *obj));

/* An idle object, or new_fn(), or NULL. */
void *hp_pool_get(hp_pool_t *pool);

/* Make obj idle in the pool (NULL is ignored).  The caller must not use
 * it afterwards: another thread may get it at once. */
void hp_pool_put(hp_pool_t *pool, void *obj);

/* One cycle for every pool: objects idle since the previous cycle are
 * destroyed, the rest become victims (still handed out by get). */
void hp_pool_trim(void);

/* Typed wrappers: HP_POOL_TYPED(conn_pool, conn_t) defines
 * conn_t *conn_pool_get(hp_pool_t *) and conn_pool_put(hp_pool_t *, conn_t *). */
#define HP_POOL_TYPED(name, T)                                                                     \
    static inline T *name##_get(hp_pool_t *pool) { return (T *)hp_pool_get(pool); }                \
    static inline void name##_put(hp_pool_t *pool, T *obj) { hp_pool_put(pool, (void *)obj); }

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_POOL_H */
