/* pool_test: hp_pool_t (src/pool/pool.c).
 *
 *   reuse       an object put is the one got back, reset on the way
 *   cycles      kept over one hp_pool_trim, destroyed by the second;
 *               put back in between, kept again
 *   empty       without new_fn an empty pool gives NULL; full shards destroy
 *   steal       an object put by one thread is got by another
 *   stress      8 threads get and put while another trims: no object is
 *               ever handed out twice, none destroyed while in use, and
 *               every object made is destroyed after two final cycles
 *   timer       (`pool_test timer`, with HOTPATH_POOL_TRIM_MS=50) idle
 *               objects are dropped without any call
 *   typed       HP_POOL_TYPED wrappers
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotpath/pool.h"
#include "test.h"

typedef struct obj {
    _Atomic int in_use;
    int resets;
    uint64_t magic;
} obj_t;

#define MAGIC 0x600dcafe600dcafeULL

static _Atomic long made, destroyed, misuse;

static void *obj_new(void)
{
    obj_t *o = calloc(1, sizeof *o);
    o->magic = MAGIC;
    atomic_fetch_add(&made, 1);
    return o;
}

static void obj_reset(void *p)
{
    ((obj_t *)p)->resets++;
}

static void obj_destroy(void *p)
{
    obj_t *o = p;
    if (o->magic != MAGIC || atomic_load(&o->in_use)) atomic_fetch_add(&misuse, 1);
    o->magic = 0;
    atomic_fetch_add(&destroyed, 1);
    free(o);
}

HP_POOL_TYPED(objpool, obj_t)

static void test_reuse_and_cycles(void)
{
    hp_pool_t *p = hp_pool_new(obj_new, obj_reset, obj_destroy);
    CHECK(p != NULL);
    obj_t *a = hp_pool_get(p);
    CHECK(a != NULL && atomic_load(&made) == 1);
    hp_pool_put(p, a);
    CHECK(a->resets == 1);
    CHECK(hp_pool_get(p) == a); /* reuse */
    hp_pool_put(p, a);
    hp_pool_trim(); /* a is a victim now, still handed out */
    CHECK(hp_pool_get(p) == a);
    hp_pool_put(p, a);
    hp_pool_trim();
    hp_pool_trim(); /* idle for two cycles: destroyed */
    CHECK(atomic_load(&destroyed) == 1);
    obj_t *b = objpool_get(p); /* typed wrapper; a new object */
    CHECK(atomic_load(&made) == 2);
    objpool_put(p, b);
    hp_pool_trim();
    hp_pool_trim();
    CHECK(atomic_load(&destroyed) == 2);
}

static void test_empty_and_full(void)
{
    long d0 = atomic_load(&destroyed);
    hp_pool_t *p = hp_pool_new(NULL, NULL, obj_destroy);
    CHECK(hp_pool_get(p) == NULL);
    hp_pool_put(p, NULL); /* ignored */
    CHECK(hp_pool_get(p) == NULL);
    obj_t *o[100];
    for (int i = 0; i < 100; i++) {
        o[i] = obj_new();
        hp_pool_put(p, o[i]);
    }
    /* One thread's shard holds 33 (private slot + 32); the rest is dropped. */
    CHECK(atomic_load(&destroyed) - d0 == 100 - 33);
    int got = 0;
    while (hp_pool_get(p) != NULL)
        got++;
    CHECK(got == 33);
}

typedef struct handoff {
    hp_pool_t *pool;
    void *obj;
} handoff_t;

static void *putter(void *arg)
{
    handoff_t *h = arg;
    hp_pool_put(h->pool, h->obj);
    return NULL;
}

static void test_steal(void)
{
    hp_pool_t *p = hp_pool_new(NULL, NULL, obj_destroy);
    handoff_t h = {p, obj_new()};
    pthread_t t;
    pthread_create(&t, NULL, putter, &h);
    pthread_join(t, NULL);
    CHECK(hp_pool_get(p) == h.obj); /* from the other thread's shard */
    obj_destroy(h.obj);
}

#define STRESS_THREADS 8
#define STRESS_OPS 200000

static hp_pool_t *stress_pool;
static _Atomic int stress_done;

static void *stress_worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    obj_t *held[4];
    int nheld = 0;
    for (int i = 0; i < STRESS_OPS; i++) {
        seed = seed * 1103515245u + 12345u;
        if (nheld < 4 && (nheld == 0 || (seed >> 16) % 2)) {
            obj_t *o = hp_pool_get(stress_pool);
            if (o->magic != MAGIC || atomic_exchange(&o->in_use, 1) != 0)
                atomic_fetch_add(&misuse, 1);
            held[nheld++] = o;
        } else {
            obj_t *o = held[--nheld];
            atomic_store(&o->in_use, 0);
            hp_pool_put(stress_pool, o);
        }
    }
    while (nheld > 0) {
        obj_t *o = held[--nheld];
        atomic_store(&o->in_use, 0);
        hp_pool_put(stress_pool, o);
    }
    return NULL;
}

static void *trimmer(void *arg)
{
    (void)arg;
    while (!atomic_load(&stress_done)) {
        hp_pool_trim();
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void test_stress(void)
{
    long m0 = atomic_load(&made), d0 = atomic_load(&destroyed);
    stress_pool = hp_pool_new(obj_new, NULL, obj_destroy);
    pthread_t t[STRESS_THREADS], tr;
    pthread_create(&tr, NULL, trimmer, NULL);
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_create(&t[i], NULL, stress_worker, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_join(t[i], NULL);
    atomic_store(&stress_done, 1);
    pthread_join(tr, NULL);
    CHECK(atomic_load(&misuse) == 0);
    hp_pool_trim();
    hp_pool_trim();
    long made_here = atomic_load(&made) - m0, destroyed_here = atomic_load(&destroyed) - d0;
    CHECK(made_here > 0 && made_here == destroyed_here);
    /* Reuse worked: far fewer objects made than gets. */
    CHECK(made_here < STRESS_THREADS * STRESS_OPS / 10);
}

static void test_timer(void)
{
    const char *ms = getenv("HOTPATH_POOL_TRIM_MS");
    CHECK(ms != NULL && atoi(ms) > 0 && atoi(ms) <= 100); /* ctest sets it */
    long d0 = atomic_load(&destroyed);
    hp_pool_t *p = hp_pool_new(obj_new, NULL, obj_destroy);
    hp_pool_put(p, obj_new());
    for (int i = 0; i < 200 && atomic_load(&destroyed) == d0; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    CHECK(atomic_load(&destroyed) == d0 + 1);
}

/* pool_test: all but the timer, with HOTPATH_POOL_TRIM_MS=0 (no timer
 * cycles behind the checks' backs); pool_test timer: the timer alone. */
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "timer") == 0) {
        test_timer();
    } else {
        test_reuse_and_cycles();
        test_empty_and_full();
        test_steal();
        test_stress();
    }
    CHECK(atomic_load(&misuse) == 0);
    return TEST_DONE();
}
