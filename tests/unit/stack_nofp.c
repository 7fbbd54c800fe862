/* stack_nofp.c: a call chain built without frame pointers (-O2
 * -fomit-frame-pointer), for stack_test: only DWARF CFI (libunwind) walks it. */
#include "stack_nofp.h"

volatile int nofp_sink;

__attribute__((noinline, noclone)) int nofp_c(nofp_cb_t cb, void *arg)
{
    cb(arg);
    return nofp_sink + 1; /* work after the call: no tail call */
}

__attribute__((noinline, noclone)) int nofp_b(nofp_cb_t cb, void *arg)
{
    return nofp_c(cb, arg) + nofp_sink;
}

__attribute__((noinline, noclone)) int nofp_a(nofp_cb_t cb, void *arg)
{
    return nofp_b(cb, arg) + nofp_sink;
}

/* Spins until *flag is set (by a signal handler). */
__attribute__((noinline, noclone)) void nofp_spin(volatile int *flag)
{
    while (!*flag)
        nofp_sink++;
}

__attribute__((noinline, noclone)) int nofp_spin_b(volatile int *flag)
{
    nofp_spin(flag);
    return nofp_sink + 1;
}

__attribute__((noinline, noclone)) int nofp_spin_a(volatile int *flag)
{
    return nofp_spin_b(flag) + nofp_sink;
}
