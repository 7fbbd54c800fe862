/* hotpath/gc.h: an opt-in garbage-collected heap, after Go's collector.
 *
 *   typedef struct node { struct node *left, *right; int v; } node_t;
 *   node_t *n = hp_gc_alloc(sizeof *n);        // zeroed; never free()d
 *   HP_GC_STORE(n->left, hp_gc_alloc(sizeof *n));
 *   ...                                         // unreachable objects go away
 *
 * Objects from hp_gc_alloc live beside malloc's, in the same arenas, and are
 * reclaimed by a mark-and-sweep collector once nothing points to them.  The
 * collector is conservative: any word that looks like a pointer into a GC
 * object (its start or any byte inside it) keeps the object alive.  It looks
 * in the roots -- the stacks and registers of every thread, the data and bss
 * of every loaded module, and the ranges given to hp_gc_add_roots -- and in
 * the GC objects it reaches.  It does not look into malloc's memory: a GC
 * object that only malloc'd memory points to must be in a registered range.
 *
 * Pacing is Go's: a collection starts when the heap has grown by GOGC
 * percent (hp_gc_set_percent, HOTPATH_GC, default 100) over what the last
 * one found live, or sooner under a soft memory limit (HOTPATH_MEMLIMIT).
 *
 * The write barrier.  A program that stores every pointer into a GC object
 * through HP_GC_STORE, and says so with hp_gc_use_barrier(1), gets
 * concurrent marking: threads stop only for a short root snapshot and for
 * mark termination.  Without that declaration the collector stops every
 * thread for the whole mark (done in parallel), which is always safe.
 * Threads must be created with pthread_create (they are registered then);
 * the collector stops them with a signal (SIGRTMIN+6), which hotpath keeps
 * unblocked.  See docs/GC.md.
 */
#ifndef HOTPATH_GC_H
#define HOTPATH_GC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A zeroed object of at least size bytes, scanned for pointers; NULL (errno
 * ENOMEM) when memory runs out even after a collection.  size 0 gives a
 * unique object.  Never pass it to free() or realloc(). */
void *hp_gc_alloc(size_t size);

/* As hp_gc_alloc, for objects that hold no pointers (strings, numbers): the
 * collector never scans them. */
void *hp_gc_alloc_noscan(size_t size);

/* Run a full collection now and wait for it (runtime.GC): afterwards every
 * object unreachable before the call is freed, and finalizers of the dead
 * objects are queued. */
void hp_gc_collect(void);

/* GOGC: the heap may grow by percent% of the live heap before the next
 * collection; a negative value turns the automatic collector off (the
 * memory limit still applies).  Returns the previous setting.  The
 * environment variable HOTPATH_GC sets it at start-up ("off" = -1). */
int hp_gc_set_percent(int percent);

/* GOMEMLIMIT: a soft limit, in bytes, on all the memory hotpath maps
 * (heap, metadata); collections run more often as it is approached, and
 * free memory goes back to the OS.  INT64_MAX = no limit (the default); a
 * negative value only reads it.  Returns the previous limit.  Environment:
 * HOTPATH_MEMLIMIT, with an optional B, KiB, MiB, GiB or TiB suffix. */
int64_t hp_gc_set_memory_limit(int64_t bytes);

/* Run fn(obj) once, on the finalizer thread, after obj has become
 * unreachable; obj is freed at a later collection, once it is unreachable
 * again.  obj must be the start of a GC object.  fn NULL removes the
 * finalizer.  Returns 0, or EINVAL when obj is not a GC object's start. */
int hp_gc_set_finalizer(void *obj, void (*fn)(void *obj));

/* Scan [ptr, ptr+len) as a root until it is removed; ranges may not
 * overlap.  Returns 0, EINVAL or ENOMEM. */
int hp_gc_add_roots(void *ptr, size_t len);
/* Stop scanning the range that starts at ptr.  Returns 0 or ENOENT. */
int hp_gc_remove_roots(void *ptr);

/* Declare (1) or retract (0) that every pointer store into a GC object goes
 * through HP_GC_STORE; with it, marking runs beside the program.  Returns
 * the previous setting. */
int hp_gc_use_barrier(int on);

/* *slot = value, for a slot inside a GC object, with the write barrier.
 * The store itself is a plain store: publishing an object to other threads
 * needs the program's own synchronization (a lock, or a release fence), as
 * without the barrier. */
void hp_gc_store(void **slot, void *value);
#define HP_GC_STORE(lvalue, value)                                                                 \
    hp_gc_store((void **)&(lvalue), (void *)(value))

/* Make the calling thread known to the collector if it was not created by
 * pthread_create after hotpath loaded (a thread hp_gc_alloc is called on
 * is registered by that call). */
void hp_gc_register_thread(void);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_GC_H */
