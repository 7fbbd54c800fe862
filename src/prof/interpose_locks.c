/* interpose_locks.c: pthread mutexes, rwlocks, condition variables,
 * semaphores and joins, wrapped to feed the mutex and block profiles
 * (lockprof.c).  See prof.h.
 *
 * (pthread_cond_clockwait and sem_clockwait too: C++'s timed waits use them.)
 * With both profiles off (the default), a wrapper is one relaxed load and a
 * branch before the real function.  With one on, a lock first tries
 * without waiting; only a contended lock is timed.  The real functions are
 * found with dlsym(RTLD_NEXT) on first use (dlvsym for the condition
 * variables, whose default version is not the oldest).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "prof/lockprof.h"

HPI_CORE static void *find_real(const char *name, const char *version)
{
    return version != NULL ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
}

/* One lazily found real function. */
#define REAL(type, name, version)                                                                  \
    static _Atomic(type) real_##name;                                                              \
    HPI_CORE static type get_##name(void)                                                          \
    {                                                                                              \
        type f = atomic_load_explicit(&real_##name, memory_order_acquire);                         \
        if (f == NULL) {                                                                           \
            f = (type)find_real(#name, version);                                                   \
            if (f == NULL) hpi_fatal("cannot find the real %s", #name);                            \
            atomic_store_explicit(&real_##name, f, memory_order_release);                          \
        }                                                                                          \
        return f;                                                                                  \
    }

typedef int (*mutex_fn)(pthread_mutex_t *);
typedef int (*rwlock_fn)(pthread_rwlock_t *);
typedef int (*cond_wait_fn)(pthread_cond_t *, pthread_mutex_t *);
typedef int (*cond_timedwait_fn)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
typedef int (*cond_clockwait_fn)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
                                 const struct timespec *);
typedef int (*sem_wait_fn)(sem_t *);
typedef int (*sem_timedwait_fn)(sem_t *, const struct timespec *);
typedef int (*sem_clockwait_fn)(sem_t *, clockid_t, const struct timespec *);
typedef int (*join_fn)(pthread_t, void **);
REAL(mutex_fn, pthread_mutex_lock, NULL)
REAL(mutex_fn, pthread_mutex_unlock, NULL)
REAL(rwlock_fn, pthread_rwlock_rdlock, NULL)
REAL(rwlock_fn, pthread_rwlock_wrlock, NULL)
REAL(rwlock_fn, pthread_rwlock_unlock, NULL)
REAL(cond_wait_fn, pthread_cond_wait, "GLIBC_2.3.2")
REAL(cond_timedwait_fn, pthread_cond_timedwait, "GLIBC_2.3.2")
REAL(cond_clockwait_fn, pthread_cond_clockwait, NULL)
REAL(sem_wait_fn, sem_wait, NULL)
REAL(sem_timedwait_fn, sem_timedwait, NULL)
REAL(sem_clockwait_fn, sem_clockwait, NULL)
REAL(join_fn, pthread_join, NULL)

static int mutex_on(void)
{
    return atomic_load_explicit(&hpi_mutex_rate, memory_order_relaxed) > 0;
}

/* After a failed try: wait with the real lock, timed, as a contention. */
#define CONTENDED(addr, call)                                                                      \
    ({                                                                                             \
        int m_on_ = mutex_on();                                                                    \
        if (m_on_) hpi_mutex_waiters((addr), 1);                                                   \
        uint64_t t0_ = hpi_nanotime();                                                             \
        int rc_ = (call);                                                                          \
        int64_t d_ = (int64_t)(hpi_nanotime() - t0_);                                              \
        if (m_on_) hpi_mutex_waiters((addr), -1);                                                  \
        hpi_block_event(d_, 0);                                                                    \
        rc_;                                                                                       \
    })

HP_API HPI_CORE int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (HPI_LIKELY(!hpi_lockprof_on())) return get_pthread_mutex_lock()(m);
    int rc = pthread_mutex_trylock(m);
    if (rc != EBUSY) return rc;
    return CONTENDED(m, get_pthread_mutex_lock()(m));
}

/* An unlock takes the waiting time it ends before releasing the lock, so
 * that a waiter's own unlock cannot take it first. */
#define UNLOCK(addr, call)                                                                         \
    ({                                                                                             \
        int64_t d_ = mutex_on() ? hpi_mutex_take_delay(addr) : 0;                                  \
        int rc_ = (call);                                                                          \
        if (d_ > 0 && rc_ == 0) hpi_mutex_event(d_, 0);                                            \
        rc_;                                                                                       \
    })

HP_API HPI_CORE int pthread_mutex_unlock(pthread_mutex_t *m)
{
    return UNLOCK(m, get_pthread_mutex_unlock()(m));
}

HP_API HPI_CORE int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    if (HPI_LIKELY(!hpi_lockprof_on())) return get_pthread_rwlock_rdlock()(l);
    int rc = pthread_rwlock_tryrdlock(l);
    if (rc != EBUSY) return rc;
    return CONTENDED(l, get_pthread_rwlock_rdlock()(l));
}

HP_API HPI_CORE int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    if (HPI_LIKELY(!hpi_lockprof_on())) return get_pthread_rwlock_wrlock()(l);
    int rc = pthread_rwlock_trywrlock(l);
    if (rc != EBUSY) return rc;
    return CONTENDED(l, get_pthread_rwlock_wrlock()(l));
}

HP_API HPI_CORE int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    return UNLOCK(l, get_pthread_rwlock_unlock()(l));
}

/* Waits that always block: timed whole, for the block profile only. */
#define TIMED_WAIT(call)                                                                           \
    ({                                                                                             \
        uint64_t t0_ = hpi_nanotime();                                                             \
        int rc_ = (call);                                                                          \
        hpi_block_event((int64_t)(hpi_nanotime() - t0_), 0);                                       \
        rc_;                                                                                       \
    })

static int block_on(void)
{
    return atomic_load_explicit(&hpi_block_rate, memory_order_relaxed) > 0;
}

HP_API HPI_CORE int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (HPI_LIKELY(!block_on())) return get_pthread_cond_wait()(c, m);
    return TIMED_WAIT(get_pthread_cond_wait()(c, m));
}

HP_API HPI_CORE int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                           const struct timespec *t)
{
    if (HPI_LIKELY(!block_on())) return get_pthread_cond_timedwait()(c, m, t);
    return TIMED_WAIT(get_pthread_cond_timedwait()(c, m, t));
}

/* What C++'s condition_variable::wait_for and wait_until use. */
HP_API HPI_CORE int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock,
                                           const struct timespec *t)
{
    if (HPI_LIKELY(!block_on())) return get_pthread_cond_clockwait()(c, m, clock, t);
    return TIMED_WAIT(get_pthread_cond_clockwait()(c, m, clock, t));
}

HP_API HPI_CORE int sem_wait(sem_t *s)
{
    if (HPI_LIKELY(!block_on())) return get_sem_wait()(s);
    if (sem_trywait(s) == 0) return 0; /* did not block */
    return TIMED_WAIT(get_sem_wait()(s));
}

HP_API HPI_CORE int sem_timedwait(sem_t *s, const struct timespec *t)
{
    if (HPI_LIKELY(!block_on())) return get_sem_timedwait()(s, t);
    if (sem_trywait(s) == 0) return 0;
    return TIMED_WAIT(get_sem_timedwait()(s, t));
}

HP_API HPI_CORE int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *t)
{
    if (HPI_LIKELY(!block_on())) return get_sem_clockwait()(s, clock, t);
    if (sem_trywait(s) == 0) return 0;
    return TIMED_WAIT(get_sem_clockwait()(s, clock, t));
}

HP_API HPI_CORE int pthread_join(pthread_t t, void **ret)
{
    if (HPI_LIKELY(!block_on())) return get_pthread_join()(t, ret);
    return TIMED_WAIT(get_pthread_join()(t, ret));
}
