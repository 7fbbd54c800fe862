/* symbolize.h: addresses to functions, files and lines, and the process's
 * mappings, with elfutils libdw.  See prof.h for the profiling design.
 *
 * Used only when a profile is written, never in a signal handler.  A
 * symbol table is a snapshot of the process as it is when opened (loaded
 * modules from /proc/self/maps); it may call malloc (libdw does), so callers
 * run with hpi_prof_internal set to keep those allocations out of profiles.
 */
#ifndef HPI_PROF_SYMBOLIZE_H
#define HPI_PROF_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "prim/prim.h"

/* One frame at an address.  An address inside inlined code yields several
 * frames: the innermost (inlined callee) first, the function it was inlined
 * into last.  Strings live as long as the table. */
typedef struct hpi_frame {
    const char *func;   /* demangled-as-the-linker-sees-it symbol name; never NULL
                           ("??" style fallbacks are spelled "0x<hex>") */
    const char *file;   /* source file, "" when unknown */
    int64_t line;       /* 0 when unknown */
    int64_t start_line; /* first line of the function, 0 when unknown */
} hpi_frame_t;

/* An executable mapping of the process (text of the program or a library). */
typedef struct hpi_mapping {
    uint64_t start, limit, offset; /* [start, limit), file offset of start */
    const char *file;              /* path as in /proc/self/maps, or "[vdso]" */
    const char *build_id;          /* lower-case hex of the GNU build ID, or "" */
    bool has_functions, has_filenames, has_line_numbers; /* what lookups found */
    bool has_inline_frames; /* every lookup read the DWARF scopes, so inlined
                               calls were expanded into frames */
} hpi_mapping_t;

typedef struct hpi_symtab hpi_symtab_t;

/* Snapshot the process's modules.  NULL when out of memory (errno ENOMEM)
 * or libdw fails (errno another value). */
HPI_INTERNAL hpi_symtab_t *hpi_symtab_open(void);
HPI_INTERNAL void hpi_symtab_close(hpi_symtab_t *t);

/* Frames at addr (already adjusted: a return address minus 1), innermost
 * first; at most max (>= 1).  Returns the number written, at least 1 (an
 * unknown address yields one frame named by its hex value).  Marks the
 * mapping of addr as having functions/files/lines/inline frames while every
 * lookup in it found them (one miss clears the flag for good). */
HPI_INTERNAL int hpi_symtab_lookup(hpi_symtab_t *t, uint64_t addr, hpi_frame_t *frames, int max);

/* The mapping that holds addr, or NULL. */
HPI_INTERNAL const hpi_mapping_t *hpi_symtab_mapping_of(hpi_symtab_t *t, uint64_t addr);

/* All executable mappings, the main program's first; *n gets the count. */
HPI_INTERNAL const hpi_mapping_t *hpi_symtab_mappings(hpi_symtab_t *t, int *n);

#endif /* HPI_PROF_SYMBOLIZE_H */
