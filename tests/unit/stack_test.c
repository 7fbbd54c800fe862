/* stack_test.c: stack capture (src/prof/stack.c).  The frame-pointer walker
 * finds a known chain of calls from hpi_stack_here, from inside a signal
 * handler and on a coroutine stack the registry does not know; libunwind
 * finds the callers of code built without frame pointers (stack_nofp.c),
 * which the frame-pointer walker cannot.  Built with -fno-omit-frame-pointer
 * and exported symbols, so dladdr names the test's functions. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "prof/stack.h"
#include "prof/threads.h"
#include "stack_nofp.h"
#include "test.h"

typedef struct capture {
    uintptr_t pcs[HPI_STACK_MAX];
    int n;
} capture_t;

/* The function at a captured entry (i > 0: a return address). */
static const char *name_at(const capture_t *c, int i)
{
    Dl_info info;
    uintptr_t pc = i == 0 ? c->pcs[i] : c->pcs[i] - 1;
    if (dladdr((void *)pc, &info) && info.dli_sname != NULL) return info.dli_sname;
    return "?";
}

/* Whether names[0..k) appear as consecutive entries starting at `from`. */
static int chain_at(const capture_t *c, int from, const char *const *names, int k)
{
    if (from < 0 || from + k > c->n) return 0;
    for (int i = 0; i < k; i++)
        if (strcmp(name_at(c, from + i), names[i]) != 0) return 0;
    return 1;
}

static int chain_anywhere(const capture_t *c, const char *const *names, int k)
{
    for (int i = 0; i < c->n; i++)
        if (chain_at(c, i, names, k)) return 1;
    return 0;
}

static void dump(const char *what, const capture_t *c)
{
    fprintf(stderr, "%s (%d frames):", what, c->n);
    for (int i = 0; i < c->n && i < 12; i++)
        fprintf(stderr, " %s", name_at(c, i));
    fprintf(stderr, "\n");
}

/* ---- hpi_stack_here through a known chain ---- */

__attribute__((noinline)) void chain_c(capture_t *c)
{
    c->n = hpi_stack_here(c->pcs, HPI_STACK_MAX, 0);
    __asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) void chain_b(capture_t *c)
{
    chain_c(c);
    __asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) void chain_a(capture_t *c)
{
    chain_b(c);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void test_here(void)
{
    capture_t c;
    chain_a(&c);
    static const char *const want[] = {"chain_c", "chain_b", "chain_a", "test_here", "main"};
    if (!CHECK(chain_at(&c, 0, want, 5))) dump("here", &c);
    capture_t d;
    d.n = hpi_stack_here(d.pcs, HPI_STACK_MAX, 1); /* skip test_here itself */
    CHECK(d.n > 0 && strcmp(name_at(&d, 0), "main") == 0);
    CHECK_EQ(hpi_stack_here(d.pcs, 0, 0), 0);
    CHECK_EQ(hpi_stack_here(d.pcs, 2, 0), 2);
}

/* ---- From a signal: the interrupted function and its callers ---- */

static volatile int sig_done;
static capture_t sig_capture;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    sig_capture.n = hpi_stack_from_signal(uc, sig_capture.pcs, HPI_STACK_MAX);
    sig_done = 1;
}

__attribute__((noinline)) void spin_c(void)
{
    /* A frame of its own: gcc sets none up in a leaf that needs no stack,
     * and then the fp walker cannot see spin_b (stack.c's limits). */
    volatile uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    (void)fp;
    while (!sig_done)
        __asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) void spin_b(void)
{
    spin_c();
    __asm__ volatile("" ::: "memory");
}
__attribute__((noinline)) void spin_a(void)
{
    spin_b();
    __asm__ volatile("" ::: "memory");
}

static void *kicker(void *arg)
{
    pthread_t target = *(pthread_t *)arg;
    usleep(20000);
    pthread_kill(target, SIGUSR1);
    return NULL;
}

/* Run spin(arg) until a SIGUSR1 from another thread is handled. */
static void interrupt(void (*spin)(void *), void *arg)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sig_done = 0;
    pthread_t self = pthread_self(), k;
    pthread_create(&k, NULL, kicker, &self);
    spin(arg);
    pthread_join(k, NULL);
}

static void spin_fp(void *arg)
{
    (void)arg;
    spin_a();
}

__attribute__((noinline)) void test_signal(void)
{
    interrupt(spin_fp, NULL);
    static const char *const want[] = {"spin_c", "spin_b", "spin_a"};
    if (!CHECK(chain_at(&sig_capture, 0, want, 3))) dump("signal", &sig_capture);
    static const char *const up[] = {"test_signal", "main"};
    CHECK(chain_anywhere(&sig_capture, up, 2));
}

/* ---- A coroutine stack: not the registered one, reads are checked ---- */

static capture_t co_capture;
static ucontext_t co_main, co_ctx;

__attribute__((noinline)) void co_entry(void)
{
    chain_a(&co_capture);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void test_coroutine(void)
{
    size_t size = 256 * 1024;
    void *stack = malloc(size);
    getcontext(&co_ctx);
    co_ctx.uc_stack.ss_sp = stack;
    co_ctx.uc_stack.ss_size = size;
    co_ctx.uc_link = &co_main;
    makecontext(&co_ctx, co_entry, 0);
    swapcontext(&co_main, &co_ctx);
    static const char *const want[] = {"chain_c", "chain_b", "chain_a", "co_entry"};
    if (!CHECK(chain_at(&co_capture, 0, want, 4))) dump("coroutine", &co_capture);
    free(stack);
}

/* ---- libunwind through code without frame pointers ---- */

static capture_t nofp_capture;

__attribute__((noinline)) void nofp_callback(void *arg)
{
    capture_t *c = arg;
    c->n = hpi_stack_here(c->pcs, HPI_STACK_MAX, 0);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void run_nofp(void)
{
    nofp_a(nofp_callback, &nofp_capture);
    __asm__ volatile("" ::: "memory");
}

static void spin_nofp(void *arg)
{
    (void)arg;
    nofp_spin_a(&sig_done);
}

__attribute__((noinline)) void test_libunwind(void)
{
    static const char *const want[] = {"nofp_callback", "nofp_c",   "nofp_b",
                                       "nofp_a",        "run_nofp", "test_libunwind"};
    /* The premise: frame pointers skip the frameless functions. */
    CHECK_EQ(hpi_stack_mode(), HPI_UNWIND_FP);
    run_nofp();
    if (!CHECK(!chain_anywhere(&nofp_capture, want + 1, 3))) dump("fp through nofp", &nofp_capture);

    if (!CHECK_EQ(hpi_stack_set_mode(HPI_UNWIND_LIBUNWIND), 0)) return;
    CHECK_EQ(hpi_stack_mode(), HPI_UNWIND_LIBUNWIND);
    run_nofp();
    if (!CHECK(chain_at(&nofp_capture, 0, want, 6))) dump("libunwind here", &nofp_capture);

    interrupt(spin_nofp, NULL);
    static const char *const spin[] = {"nofp_spin", "nofp_spin_b", "nofp_spin_a"};
    if (!CHECK(chain_at(&sig_capture, 0, spin, 3))) dump("libunwind signal", &sig_capture);

    /* The fp-built chains come out the same way. */
    capture_t c;
    chain_a(&c);
    static const char *const fp[] = {"chain_c", "chain_b", "chain_a", "test_libunwind", "main"};
    if (!CHECK(chain_at(&c, 0, fp, 5))) dump("libunwind fp chain", &c);
    interrupt(spin_fp, NULL);
    static const char *const sp[] = {"spin_c", "spin_b", "spin_a"};
    if (!CHECK(chain_at(&sig_capture, 0, sp, 3))) dump("libunwind fp signal", &sig_capture);

    CHECK_EQ(hpi_stack_set_mode(7), EINVAL);
    CHECK_EQ(hpi_stack_set_mode(HPI_UNWIND_FP), 0);
    CHECK_EQ(hpi_stack_mode(), HPI_UNWIND_FP);
}

int main(void)
{
    CHECK(hpi_thread_self() != NULL); /* the main thread is registered at start-up */
    test_here();
    test_signal();
    test_coroutine();
    test_libunwind();
    return TEST_DONE();
}
