/* stack.c: stack capture by frame pointers or by libunwind.  See stack.h
 * for the contract and prof.h for the profiling design.
 *
 * 1. The frame-pointer walker.  On x86-64 and aarch64 a function built with
 *    frame pointers keeps a two-word record at its frame pointer: the
 *    caller's frame pointer, then the return address (rbp/[rbp+8] on x86-64,
 *    x29/x30 stored as a pair on aarch64).  The walk follows that chain.
 *    Every read is checked first: the record must be aligned and lie in
 *    [sp, hi) where sp is the stack pointer of the code being walked and hi
 *    the top of the thread's stack from its registry record (threads.h);
 *    everything between a thread's stack pointer and its top is mapped, so
 *    those reads cannot fault.  Each next frame must lie strictly above the
 *    last, so the walk ends, and it ends at a zero or out-of-range link
 *    (glibc starts every thread with a zero frame pointer).
 *
 * 2. Unknown stacks.  When the thread is not registered, or its stack
 *    pointer is not inside its registered stack (a coroutine's stack from
 *    makecontext), the top is unknown: the walk is bounded to the 8 MiB
 *    above the stack pointer (glibc's default stack size) and each record is
 *    read with process_vm_readv on our own process, a system call that
 *    fails with EFAULT instead of faulting, so a wild link ends the walk
 *    rather than the process.  Slower (a system call per frame), but only
 *    for those threads.
 *
 * 3. libunwind.  Loaded with dlopen(RTLD_LOCAL) when selected (or when
 *    hpi_stack_load_libunwind asks, for hpi_stack_from_signal_mode), so that its
 *    _Unwind_* symbols never replace the program's; its LOCAL-unwinding
 *    entry points (e.g. _ULx86_64_step) are looked up by the names
 *    libunwind.h's macros expand to, and called through pointers: nothing
 *    links against libunwind.  It follows DWARF CFI, so it walks code built
 *    without frame pointers.  libunwind's local unwinder validates its own
 *    memory reads and is documented as async-signal-safe.  It is not
 *    reentrant on one thread, though: a signal that lands while the thread
 *    is inside libunwind (capturing a stack itself) records only the
 *    interrupted PC (hpi_stack_from_signal), or walks by frame pointers
 *    (hpi_stack_here).
 *
 * Limits: an interrupted function that has not yet set up its frame (its
 * prologue, or a leaf without a frame) hides its caller from the fp walker;
 * on aarch64 pointer-authentication bits are masked off return addresses.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "alloc/internal.h"
#include "prof/stack.h"
#include "prof/threads.h"

#define UNKNOWN_STACK_WINDOW ((uintptr_t)8 << 20) /* bound of a walk on an unknown stack */
#define FRAME_WORDS 2                             /* saved frame pointer, return address */

#if defined(__aarch64__)
#define RETADDR_MASK (((uintptr_t)1 << 48) - 1) /* strips pointer-authentication bits */
#else
#define RETADDR_MASK (~(uintptr_t)0)
#endif

/* The names libunwind.h gives its local-unwinding functions. */
#define STACK_STR2(x) #x
#define STACK_STR(x) STACK_STR2(x)

typedef int (*unw_init_local2_fn)(unw_cursor_t *, unw_context_t *, int);
typedef int (*unw_step_fn)(unw_cursor_t *);
typedef int (*unw_get_reg_fn)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
typedef int (*unw_getcontext_fn)(unw_context_t *);

static struct {
    _Atomic int mode;   /* enum hpi_unwind_mode */
    _Atomic int loaded; /* set (release) once the pointers below are */
    hpi_lock_t lock;    /* serializes loading */
    void *handle;       /* lock: libunwind, once loaded (never closed) */
    unw_init_local2_fn init_local2;
    unw_step_fn step;
    unw_get_reg_fn get_reg;
    unw_getcontext_fn getcontext; /* x86-64 only: a function there */
} stk = {HPI_UNWIND_FP, 0, HPI_LOCK_INIT, NULL, NULL, NULL, NULL, NULL};

/* Nonzero while this thread runs inside libunwind. */
static __thread int in_unwind;

/* ---- Frame pointers ---- */

typedef struct fp_bounds {
    uintptr_t lo, hi; /* frame records must lie in [lo, hi) */
    int checked;      /* read through process_vm_readv */
} fp_bounds_t;

static void fp_bounds_for(uintptr_t sp, fp_bounds_t *b)
{
    hpi_thread_t *t = hpi_thread_self();
    b->lo = sp;
    if (t != NULL && sp >= t->stack_lo && sp < t->stack_hi) {
        b->hi = t->stack_hi;
        b->checked = 0;
        return;
    }
    b->hi = sp + UNKNOWN_STACK_WINDOW < sp ? UINTPTR_MAX : sp + UNKNOWN_STACK_WINDOW;
    b->checked = 1;
}

/* Read the frame record at fp into rec; 0 when it is out of bounds or
 * unreadable. */
static int fp_read(const fp_bounds_t *b, uintptr_t fp, uintptr_t rec[FRAME_WORDS])
{
    const size_t size = FRAME_WORDS * sizeof(uintptr_t);
    if ((fp & (sizeof(uintptr_t) - 1)) != 0 || fp < b->lo || b->hi - b->lo < size ||
        fp > b->hi - size)
        return 0;
    if (!b->checked) {
        const uintptr_t *p = (const uintptr_t *)fp;
        rec[0] = p[0];
        rec[1] = p[1];
        return 1;
    }
    struct iovec local = {rec, size}, remote = {(void *)fp, size};
    return syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL) == (long)size;
}

/* Follow the chain from fp, appending return addresses after the first n
 * entries of pcs and dropping the first `skip`.  Returns the new count. */
HPI_CORE static int fp_walk(const fp_bounds_t *b, uintptr_t fp, uintptr_t *pcs, int n, int max,
                            int skip)
{
    uintptr_t rec[FRAME_WORDS];
    while (n < max && fp_read(b, fp, rec)) {
        uintptr_t ret = rec[1] & RETADDR_MASK;
        if (ret == 0) break;
        if (skip > 0)
            skip--;
        else
            pcs[n++] = ret;
        if (rec[0] <= fp) break;
        fp = rec[0];
    }
    return n;
}

/* The interrupted thread's pc, stack pointer and frame pointer. */
static void uc_regs(const ucontext_t *uc, uintptr_t *pc, uintptr_t *sp, uintptr_t *fp)
{
#if defined(__x86_64__)
    *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    *fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
    *pc = (uintptr_t)uc->uc_mcontext.pc;
    *sp = (uintptr_t)uc->uc_mcontext.sp;
    *fp = (uintptr_t)uc->uc_mcontext.regs[29];
#else
#error "stack.c: frame layout of this architecture not described"
#endif
}

static int fp_from_signal(const ucontext_t *uc, uintptr_t *pcs, int max)
{
    uintptr_t pc, sp, fp;
    uc_regs(uc, &pc, &sp, &fp);
    pcs[0] = pc;
    fp_bounds_t b;
    fp_bounds_for(sp, &b);
    return fp_walk(&b, fp, pcs, 1, max, 0);
}

/* ---- libunwind ---- */

/* Record the cursor's frames: the first `skip` are dropped. */
static int unw_walk(unw_cursor_t *c, uintptr_t *pcs, int max, int skip)
{
    int n = 0;
    do {
        unw_word_t ip;
        if (stk.get_reg(c, UNW_REG_IP, &ip) < 0 || ip == 0) break;
        if (skip > 0)
            skip--;
        else
            pcs[n++] = (uintptr_t)ip;
    } while (n < max && stk.step(c) > 0);
    return n;
}

static int unw_from_signal(const ucontext_t *uc, uintptr_t *pcs, int max)
{
    unw_context_t ctx; /* a ucontext_t on both supported architectures */
    unw_cursor_t c;
    memcpy(&ctx, uc, sizeof ctx);
    int n = 0;
    if (stk.init_local2(&c, &ctx, UNW_INIT_SIGNAL_FRAME) == 0) n = unw_walk(&c, pcs, max, 0);
    if (n == 0) {
        uintptr_t sp, fp;
        uc_regs(uc, &pcs[0], &sp, &fp);
        n = 1;
    }
    return n;
}

/* Frames of unw_here's caller's caller on: unw_here and hpi_stack_here are
 * dropped. */
__attribute__((noinline)) static int unw_here(uintptr_t *pcs, int max, int skip)
{
    unw_context_t ctx;
    unw_cursor_t c;
#if defined(__x86_64__)
    if (stk.getcontext(&ctx) != 0) return 0;
#else
    if (unw_getcontext(&ctx) != 0) return 0;
#endif
    if (stk.init_local2(&c, &ctx, 0) != 0) return 0;
    int n = unw_walk(&c, pcs, max, skip + 2);
    __asm__ volatile("" ::: "memory"); /* keeps this frame: no tail call */
    return n;
}

static int unwind_active(void)
{
    return atomic_load_explicit(&stk.mode, memory_order_acquire) == HPI_UNWIND_LIBUNWIND &&
           !in_unwind;
}

/* ---- The interface ---- */

HPI_CORE __attribute__((noinline)) int hpi_stack_here(uintptr_t *pcs, int max, int skip)
{
    if (max <= 0) return 0;
    int n;
    if (unwind_active()) {
        in_unwind = 1;
        atomic_signal_fence(memory_order_seq_cst);
        n = unw_here(pcs, max, skip);
        atomic_signal_fence(memory_order_seq_cst);
        in_unwind = 0;
    } else {
        uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
        fp_bounds_t b;
        fp_bounds_for(fp, &b);
        n = fp_walk(&b, fp, pcs, 0, max, skip);
    }
    __asm__ volatile("" ::: "memory"); /* keeps this frame: no tail call */
    return n;
}

int hpi_stack_from_signal_mode(const void *uc, uintptr_t *pcs, int max, int mode)
{
    if (max <= 0) return 0;
    const ucontext_t *u = uc;
    if (mode != HPI_UNWIND_LIBUNWIND ||
        atomic_load_explicit(&stk.loaded, memory_order_acquire) == 0)
        return fp_from_signal(u, pcs, max);
    if (in_unwind) { /* interrupted libunwind itself: only the leaf */
        uintptr_t sp, fp;
        uc_regs(u, &pcs[0], &sp, &fp);
        return 1;
    }
    in_unwind = 1;
    atomic_signal_fence(memory_order_seq_cst);
    int n = unw_from_signal(u, pcs, max);
    atomic_signal_fence(memory_order_seq_cst);
    in_unwind = 0;
    return n;
}

int hpi_stack_from_signal(const void *uc, uintptr_t *pcs, int max)
{
    return hpi_stack_from_signal_mode(uc, pcs, max,
                                      atomic_load_explicit(&stk.mode, memory_order_acquire));
}

static void *unw_sym(void *h, const char *name, int *missing)
{
    void *p = dlsym(h, name);
    if (p == NULL) *missing = 1;
    return p;
}

/* Load libunwind and look up its functions; lock held.  0 or an errno. */
static int unw_load_locked(void)
{
    if (stk.handle != NULL) return 0;
    void *h = dlopen("libunwind.so.8", RTLD_LOCAL | RTLD_NOW);
    if (h == NULL) return ENOENT;
    int missing = 0;
    stk.init_local2 = (unw_init_local2_fn)unw_sym(h, STACK_STR(unw_init_local2), &missing);
    stk.step = (unw_step_fn)unw_sym(h, STACK_STR(unw_step), &missing);
    stk.get_reg = (unw_get_reg_fn)unw_sym(h, STACK_STR(unw_get_reg), &missing);
#if defined(__x86_64__)
    stk.getcontext = (unw_getcontext_fn)unw_sym(h, STACK_STR(unw_tdep_getcontext), &missing);
#endif
    if (missing) {
        dlclose(h);
        return ENOSYS;
    }
    stk.handle = h;
    atomic_store_explicit(&stk.loaded, 1, memory_order_release);
    return 0;
}

int hpi_stack_set_mode(int mode)
{
    if (mode != HPI_UNWIND_FP && mode != HPI_UNWIND_LIBUNWIND) return EINVAL;
    hpi_lock(&stk.lock);
    int err = mode == HPI_UNWIND_LIBUNWIND ? unw_load_locked() : 0;
    if (err == 0) atomic_store_explicit(&stk.mode, mode, memory_order_release);
    hpi_unlock(&stk.lock);
    return err;
}

int hpi_stack_load_libunwind(void)
{
    if (atomic_load_explicit(&stk.loaded, memory_order_acquire)) return 0;
    hpi_lock(&stk.lock);
    int err = unw_load_locked();
    hpi_unlock(&stk.lock);
    return err;
}

int hpi_stack_mode(void)
{
    return atomic_load_explicit(&stk.mode, memory_order_acquire);
}

/* HOTPATH_UNWIND, at library start-up. */
HPI_CORE __attribute__((constructor(104))) static void stack_init(void)
{
    hpi_options_init();
    if (hpi_options.unwind != HPI_UNWIND_LIBUNWIND) return;
    int err = hpi_stack_set_mode(HPI_UNWIND_LIBUNWIND);
    if (err != 0)
        hpi_printf_err("HOTPATH_UNWIND=libunwind: cannot load libunwind.so.8 (%s); "
                       "using frame pointers",
                       strerror(err));
}
