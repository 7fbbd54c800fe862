/* dlib.c: shared libraries loaded on first use.  See dlib.h. */
#define _GNU_SOURCE
#include "prim/dlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int load_locked(const hpi_dlib_t *lib, const char *const *names, void *table, int n)
{
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) return ENOENT;
    void **found = calloc((size_t)n, sizeof *found);
    if (found == NULL) {
        dlclose(h);
        return ENOMEM;
    }
    int missing = 0;
    for (int i = 0; i < n; i++)
        missing += (found[i] = dlsym(h, names[i])) == NULL;
    if (missing == 0) memcpy(table, found, (size_t)n * sizeof *found);
    free(found);
    if (missing) dlclose(h);
    return missing ? ENOENT : 0;
}

int hpi_dlib_load(hpi_dlib_t *lib, const char *const *names, void *table, int n)
{
    hpi_lock(&lib->lock);
    if (lib->state == 0) {
        int err = load_locked(lib, names, table, n);
        lib->state = err == 0 ? 1 : -1;
        if (err != 0)
            hpi_printf_err("cannot load %s (Debian package %s): %s", lib->soname, lib->package,
                           lib->without);
    }
    int ok = lib->state == 1;
    hpi_unlock(&lib->lock);
    return ok ? 0 : ENOENT;
}
