/* dwlib.h: elfutils libdw, loaded when the first profile is written.
 * See symbolize.c, its only user.
 *
 * libhotpath does not link libdw: linked, it and the libraries it needs
 * (libelf, zlib, liblzma, libbz2, libzstd) would be mapped into every
 * process that preloads hotpath, about 1 MiB of resident memory in a
 * program that never writes a profile.  dlopen(RTLD_LOCAL) brings them in
 * on first use; their functions are called through this table, typed from
 * libdw's own headers. */
#ifndef HPI_PROF_DWLIB_H
#define HPI_PROF_DWLIB_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "prim/prim.h"

#define HPI_DW_FUNCS(X)                                                                            \
    X(dwfl_begin)                                                                                  \
    X(dwfl_end)                                                                                    \
    X(dwfl_report_begin)                                                                           \
    X(dwfl_report_end)                                                                             \
    X(dwfl_linux_proc_report)                                                                      \
    X(dwfl_linux_proc_find_elf)                                                                    \
    X(dwfl_standard_find_debuginfo)                                                                \
    X(dwfl_build_id_find_debuginfo)                                                                \
    X(dwfl_addrmodule)                                                                             \
    X(dwfl_module_addrname)                                                                        \
    X(dwfl_module_addrdie)                                                                         \
    X(dwfl_module_getsrc)                                                                          \
    X(dwfl_module_getelf)                                                                          \
    X(dwfl_module_build_id)                                                                        \
    X(dwfl_lineinfo)                                                                               \
    X(dwarf_getscopes)                                                                             \
    X(dwarf_getscopes_die)                                                                         \
    X(dwarf_tag)                                                                                   \
    X(dwarf_attr)                                                                                  \
    X(dwarf_attr_integrate)                                                                        \
    X(dwarf_formstring)                                                                            \
    X(dwarf_formudata)                                                                             \
    X(dwarf_decl_line)                                                                             \
    X(dwarf_getsrcfiles)                                                                           \
    X(dwarf_filesrc)

#define HPI_DW_MEMBER(name) __typeof__(name) *name;
/* Set once by hpi_dw_load, read-only afterwards. */
typedef struct hpi_dw {
    HPI_DW_FUNCS(HPI_DW_MEMBER)
} hpi_dw_t;
#undef HPI_DW_MEMBER

extern HPI_INTERNAL hpi_dw_t hpi_dw;

/* Load libdw.so.1 once (thread-safe).  0, or ENOENT when it (Debian's
 * libdw1) is missing or lacks a function; then profiles carry addresses
 * without names. */
HPI_INTERNAL int hpi_dw_load(void);

#endif /* HPI_PROF_DWLIB_H */
