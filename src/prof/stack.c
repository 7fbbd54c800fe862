/* stack.c: stack capture for profiles, usable in signal handlers.  See
 * stack.h for the contract and prof.h for the design.
 *
 * Frame pointers.  With frame pointers, each frame starts with a record of
 * two words, {caller's frame pointer, return address}, and the frame
 * pointer register holds the innermost record's address (x86-64 rbp,
 * aarch64 x29).  The walker follows the chain, and reads a record only if
 * it lies inside the thread's stack, is aligned, and is above the previous
 * one: a function built without frame pointers leaves garbage in the
 * register, and these checks end the walk there instead of faulting.  The
 * stack's bounds are cached per thread (hpi_stack_init_thread); a thread
 * whose bounds are not known yet gives only what needs no memory read.
 *
 * libunwind.  Loaded with dlopen(RTLD_LOCAL | RTLD_NOW) when selected: local
 * symbols, so its _Unwind_* functions never replace the program's C++
 * exception support, and no lazy binding left to happen in a handler.  Its
 * functions are called through pointers found with dlsym.  A per-thread
 * flag stops a signal that arrives while the same thread is inside
 * libunwind from entering it again (the sample then has only its leaf).
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "prof/stack.h"

#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <ucontext.h>

#include "alloc/internal.h"
#include "prof/prof.h"

#define STR2(x) #x
#define STR(x) STR2(x)

/* This thread's stack, [lo, hi); known says whether they are set. */
typedef struct stack_bounds {
    uintptr_t lo, hi;
    int known;
    int in_unwind; /* inside libunwind: a nested capture must not enter it */
} stack_bounds_t;

static __thread stack_bounds_t self_stack __attribute__((tls_model("initial-exec")));

/* libunwind's entry points, set once by load_libunwind (then read-only). */
static struct {
    int (*getcontext)(unw_context_t *);
    int (*init_local)(unw_cursor_t *, unw_context_t *);
    int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
    int (*step)(unw_cursor_t *);
    int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
    int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
    unw_addr_space_t *local_as;
} uw;

static _Atomic int mode = HPI_UNWIND_FP;

void hpi_stack_init_thread(void)
{
    if (self_stack.known) return;
    pthread_attr_t attr;
    void *addr;
    size_t size;
    hpi_prof_internal_enter(); /* pthread_getattr_np may call malloc */
    int err = pthread_getattr_np(pthread_self(), &attr);
    if (err == 0) {
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            self_stack.lo = (uintptr_t)addr;
            self_stack.hi = (uintptr_t)addr + size;
            self_stack.known = 1;
        }
        pthread_attr_destroy(&attr);
    }
    hpi_prof_internal_leave();
}

void hpi_stack_set_bounds(uintptr_t lo, uintptr_t hi)
{
    self_stack.lo = lo;
    self_stack.hi = hi;
    self_stack.known = 1;
}

/* Follow the frame-pointer chain from fp; append return addresses to
 * pcs[n..max) after skipping `skip` of them.  Returns the new n. */
static int walk_fp(uintptr_t fp, uintptr_t *pcs, int n, int max, int skip)
{
    const stack_bounds_t *b = &self_stack;
    if (!b->known) return n;
    while (n < max) {
        if (fp < b->lo || fp > b->hi - 2 * sizeof(uintptr_t) || (fp & (sizeof(uintptr_t) - 1)))
            break;
        const uintptr_t *rec = (const uintptr_t *)fp;
        uintptr_t next = rec[0], ret = rec[1];
        if (ret == 0) break;
        if (skip > 0)
            skip--;
        else
            pcs[n++] = ret;
        if (next <= fp) break; /* the chain must go up the stack */
        fp = next;
    }
    return n;
}

/* Step a libunwind cursor; append each frame's IP after skipping. */
static int walk_cursor(unw_cursor_t *cur, uintptr_t *pcs, int n, int max, int skip)
{
    while (n < max && uw.step(cur) > 0) {
        unw_word_t ip;
        if (uw.get_reg(cur, UNW_REG_IP, &ip) != 0 || ip == 0) break;
        if (skip > 0)
            skip--;
        else
            pcs[n++] = (uintptr_t)ip;
    }
    return n;
}

__attribute__((noinline)) int hpi_stack_here(uintptr_t *pcs, int max, int skip)
{
    if (max <= 0) return 0;
    if (!self_stack.known) hpi_stack_init_thread();
    if (atomic_load_explicit(&mode, memory_order_relaxed) == HPI_UNWIND_LIBUNWIND &&
        !self_stack.in_unwind) {
        unw_context_t ctx;
        unw_cursor_t cur;
        self_stack.in_unwind = 1;
        int n = 0;
        /* The cursor starts in this function; each step reaches a caller,
         * whose IP is the return address into it. */
        if (uw.getcontext(&ctx) == 0 && uw.init_local(&cur, &ctx) == 0)
            n = walk_cursor(&cur, pcs, 0, max, skip);
        self_stack.in_unwind = 0;
        return n;
    }
    return walk_fp((uintptr_t)__builtin_frame_address(0), pcs, 0, max, skip);
}

/* The interrupted PC and frame pointer from a signal context. */
static void regs_of(const ucontext_t *uc, uintptr_t *pc, uintptr_t *fp, uintptr_t *sp)
{
#if defined(__x86_64__)
    *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    *fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    *pc = (uintptr_t)uc->uc_mcontext.pc;
    *fp = (uintptr_t)uc->uc_mcontext.regs[29];
    *sp = (uintptr_t)uc->uc_mcontext.sp;
#else
#error "stack.c: no frame-pointer walker for this architecture"
#endif
}

int hpi_stack_from_signal(const void *ucv, uintptr_t *pcs, int max)
{
    const ucontext_t *uc = ucv;
    uintptr_t pc, fp, sp;
    if (max <= 0) return 0;
    regs_of(uc, &pc, &fp, &sp);
    pcs[0] = pc;
    if (atomic_load_explicit(&mode, memory_order_relaxed) == HPI_UNWIND_LIBUNWIND &&
        !self_stack.in_unwind) {
        unw_cursor_t cur;
        self_stack.in_unwind = 1;
        int n = 1;
        if (uw.init_local2(&cur, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) == 0)
            n = walk_cursor(&cur, pcs, 1, max, 0);
        self_stack.in_unwind = 0;
        return n;
    }
    if (fp < sp) return 1; /* not a frame of the interrupted code */
    return walk_fp(fp, pcs, 1, max, 0);
}

static int load_libunwind(void)
{
    if (uw.step != NULL) return 0;
    void *h = dlopen("libunwind.so.8", RTLD_LOCAL | RTLD_NOW);
    if (h == NULL) return ENOENT;
    uw.getcontext = (int (*)(unw_context_t *))dlsym(h, STR(unw_getcontext));
    uw.init_local = (int (*)(unw_cursor_t *, unw_context_t *))dlsym(h, STR(unw_init_local));
    uw.init_local2 = (int (*)(unw_cursor_t *, unw_context_t *, int))dlsym(h, STR(unw_init_local2));
    uw.get_reg = (int (*)(unw_cursor_t *, unw_regnum_t, unw_word_t *))dlsym(h, STR(unw_get_reg));
    uw.set_caching_policy =
        (int (*)(unw_addr_space_t, unw_caching_policy_t))dlsym(h, STR(unw_set_caching_policy));
    uw.local_as = (unw_addr_space_t *)dlsym(h, STR(unw_local_addr_space));
    int (*step)(unw_cursor_t *) = (int (*)(unw_cursor_t *))dlsym(h, STR(unw_step));
    if (!uw.getcontext || !uw.init_local || !uw.init_local2 || !uw.get_reg || !step) {
        dlclose(h);
        return ENOENT;
    }
    /* A per-thread cache: no lock shared between threads in a handler. */
    if (uw.set_caching_policy && uw.local_as)
        uw.set_caching_policy(*uw.local_as, UNW_CACHE_PER_THREAD);
    uw.step = step; /* last: the walkers test the other pointers through mode */
    return 0;
}

int hpi_stack_set_mode(int m)
{
    if (m == HPI_UNWIND_LIBUNWIND) {
        int err = load_libunwind();
        if (err != 0) {
            hpi_printf_err("HOTPATH_UNWIND=libunwind: cannot load libunwind.so.8 (Debian package "
                           "libunwind8); walking frame pointers");
            return err;
        }
    }
    atomic_store(&mode, m == HPI_UNWIND_LIBUNWIND ? m : HPI_UNWIND_FP);
    return 0;
}

int hpi_stack_mode(void)
{
    return atomic_load(&mode);
}

/* HOTPATH_UNWIND, and the main thread's bounds, at start-up. */
__attribute__((constructor(104))) static void stack_init(void)
{
    hpi_options_init();
    if (hpi_options.unwind == HPI_UNWIND_LIBUNWIND) hpi_stack_set_mode(HPI_UNWIND_LIBUNWIND);
    hpi_stack_init_thread();
}
