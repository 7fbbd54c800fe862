/* dwlib.c: elfutils libdw, loaded on first use.  See dwlib.h. */
#define _GNU_SOURCE
#include "prof/dwlib.h"

#include <dlfcn.h>
#include <errno.h>

hpi_dw_t hpi_dw;

static hpi_lock_t load_lock = HPI_LOCK_INIT;
static int load_state; /* load_lock: 0 not tried, 1 loaded, -1 failed */

static int load_locked(void)
{
    void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) return ENOENT;
    hpi_dw_t dw;
    int missing = 0;
#define HPI_DW_FIND(name)                                                                          \
    dw.name = (__typeof__(dw.name))dlsym(h, #name);                                                \
    missing += dw.name == NULL;
    HPI_DW_FUNCS(HPI_DW_FIND)
#undef HPI_DW_FIND
    if (missing) {
        dlclose(h);
        return ENOENT;
    }
    hpi_dw = dw;
    return 0;
}

int hpi_dw_load(void)
{
    hpi_lock(&load_lock);
    if (load_state == 0) {
        int err = load_locked();
        load_state = err == 0 ? 1 : -1;
        if (err != 0)
            hpi_printf_err("cannot load libdw.so.1 (Debian package libdw1): profiles will "
                           "show addresses, not function names");
    }
    int ok = load_state == 1;
    hpi_unlock(&load_lock);
    return ok ? 0 : ENOENT;
}
