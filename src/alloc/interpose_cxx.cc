/* interpose_cxx.cc: C++ operator new and delete in every form (plain, array,
 * nothrow, sized, aligned), on hotpath's allocator.
 *
 * The only C++ in the library, because the standard's failure rules need it:
 * a throwing new calls the installed new_handler and retries while there is
 * one, then throws std::bad_alloc; a nothrow new returns nullptr where the
 * throwing one would throw, including when a handler throws.  Like jemalloc's
 * and tcmalloc's shared libraries, libhotpath.so therefore depends on
 * libstdc++; the static library pulls this file in only for C++ programs.
 */
#include <cstddef>
#include <new>

/* From interpose.c and malloc.c (their headers are C11, not C++). */
#define HPI_HIDDEN __attribute__((visibility("hidden")))
#define HP_API __attribute__((visibility("default")))
extern "C" {
HPI_HIDDEN void *hpi_malloc(std::size_t size);
HPI_HIDDEN void hpi_free(void *p);
HPI_HIDDEN void *hpi_malloc_aligned(std::size_t align, std::size_t size);
}

namespace {

inline void *try_alloc(std::size_t size, std::size_t align) noexcept
{
    if (align <= 16) return hpi_malloc(size);
    return hpi_malloc_aligned(align, size);
}

void *new_throwing(std::size_t size, std::size_t align)
{
    for (;;) {
        void *p = try_alloc(size, align);
        if (__builtin_expect(p != nullptr, 1)) return p;
        std::new_handler h = std::get_new_handler();
        if (h == nullptr) throw std::bad_alloc();
        h();
    }
}

void *new_nothrow(std::size_t size, std::size_t align) noexcept
{
    void *p = try_alloc(size, align);
    if (__builtin_expect(p != nullptr, 1)) return p;
    try {
        return new_throwing(size, align);
    } catch (...) {
        return nullptr;
    }
}

} // namespace

#define HPX HP_API

HPX void *operator new(std::size_t n) { return new_throwing(n, 0); }
HPX void *operator new[](std::size_t n) { return new_throwing(n, 0); }
HPX void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return new_nothrow(n, 0); }
HPX void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return new_nothrow(n, 0); }
HPX void *operator new(std::size_t n, std::align_val_t a) { return new_throwing(n, std::size_t(a)); }
HPX void *operator new[](std::size_t n, std::align_val_t a) { return new_throwing(n, std::size_t(a)); }
HPX void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept
{
    return new_nothrow(n, std::size_t(a));
}
HPX void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept
{
    return new_nothrow(n, std::size_t(a));
}

HPX void operator delete(void *p) noexcept { hpi_free(p); }
HPX void operator delete[](void *p) noexcept { hpi_free(p); }
HPX void operator delete(void *p, std::size_t) noexcept { hpi_free(p); }
HPX void operator delete[](void *p, std::size_t) noexcept { hpi_free(p); }
HPX void operator delete(void *p, const std::nothrow_t &) noexcept { hpi_free(p); }
HPX void operator delete[](void *p, const std::nothrow_t &) noexcept { hpi_free(p); }
HPX void operator delete(void *p, std::align_val_t) noexcept { hpi_free(p); }
HPX void operator delete[](void *p, std::align_val_t) noexcept { hpi_free(p); }
HPX void operator delete(void *p, std::size_t, std::align_val_t) noexcept { hpi_free(p); }
HPX void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { hpi_free(p); }
HPX void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept
{
    hpi_free(p);
}
HPX void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept
{
    hpi_free(p);
}
