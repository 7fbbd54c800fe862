/* stack.h: stack capture, usable inside a signal handler.
 * See prof.h for the profiling design.
 *
 * Two walkers, chosen by the HOTPATH_UNWIND option: "fp" follows frame
 * pointers (fast; needs code built with -fno-omit-frame-pointer, which the
 * walker cannot check, so a frame without one ends the walk early), and
 * "libunwind" uses DWARF CFI through libunwind, loaded with dlopen
 * (RTLD_LOCAL) the first time it is selected so that its _Unwind_* symbols
 * never replace the program's.  Both are async-signal-safe: no lock, no
 * malloc; every memory read is checked against the thread's stack bounds
 * (fp) or done by libunwind's own validated accessors.
 *
 * PCs: a captured stack is an array, leaf first.  Entries after the first
 * are return addresses; callers that write profiles subtract 1 from them
 * (so the address falls inside the call instruction and symbolizes to the
 * call's line), see hpi_pprof_add's `exact_leaf`.
 */
#ifndef HPI_PROF_STACK_H
#define HPI_PROF_STACK_H

#include <stdint.h>

#include "prim/prim.h"

#define HPI_STACK_MAX 64 /* deepest stack recorded, in frames */

enum hpi_unwind_mode { HPI_UNWIND_FP = 0, HPI_UNWIND_LIBUNWIND = 1 };

/* Select the walker (outside signal handlers; loads libunwind if asked).
 * Returns 0, or an errno value when libunwind cannot be loaded (the fp
 * walker stays selected). */
HPI_INTERNAL int hpi_stack_set_mode(int mode);
HPI_INTERNAL int hpi_stack_mode(void);

/* The calling thread's stack: return addresses of the callers, leaf first,
 * after dropping `skip` frames of the caller's own (skip = 0: the first entry
 * is the return address into the function that called hpi_stack_here).
 * Returns the number of entries written (<= max).  Signal-safe. */
HPI_INTERNAL int hpi_stack_here(uintptr_t *pcs, int max, int skip);

/* The stack of the code a signal interrupted: pcs[0] is the interrupted PC
 * itself (exact), the rest return addresses.  uc is the handler's third
 * argument (ucontext_t *).  Returns the number written.  Signal-safe. */
HPI_INTERNAL int hpi_stack_from_signal(const void *uc, uintptr_t *pcs, int max);

/* hpi_stack_from_signal with the given walker instead of the selected one
 * (the goroutine profile uses libunwind when it can: the threads it
 * interrupts are mostly blocked inside the C library, built without frame
 * pointers).  HPI_UNWIND_LIBUNWIND walks by frame pointers unless
 * hpi_stack_load_libunwind succeeded before.  Signal-safe. */
HPI_INTERNAL int hpi_stack_from_signal_mode(const void *uc, uintptr_t *pcs, int max, int mode);

/* Load libunwind without selecting it (outside signal handlers).  Returns 0
 * or an errno value, as hpi_stack_set_mode. */
HPI_INTERNAL int hpi_stack_load_libunwind(void);

#endif /* HPI_PROF_STACK_H */
