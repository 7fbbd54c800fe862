/* stack_nofp.h: stack_nofp.c's chain, built without frame pointers. */
#ifndef HP_TESTS_STACK_NOFP_H
#define HP_TESTS_STACK_NOFP_H

typedef void (*nofp_cb_t)(void *arg);

/* nofp_a -> nofp_b -> nofp_c -> cb(arg). */
int nofp_a(nofp_cb_t cb, void *arg);
/* nofp_spin_a -> nofp_spin_b -> nofp_spin, spinning until *flag. */
int nofp_spin_a(volatile int *flag);

#endif
