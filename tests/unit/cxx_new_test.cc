// cxx_new_test: C++ operator new and delete in every form go through hotpath.
//
// Linked against libhotpath; ctest runs it twice, plainly and with libhotpath
// preloaded.  Each form is checked against the allocator's counters (a new
// raises mallocs, a delete raises frees), for alignment where it asks for one,
// and for the failure rules: a throwing new that cannot allocate throws
// std::bad_alloc, a nothrow new returns nullptr, and both call the installed
// new_handler first.
//
// Usage: cxx_new_test   (prints "N passed, N failed")
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>

#include <malloc.h>

#include "hotpath/hotpath.h"
#include "test.h"

namespace {

// Every pointer escapes through here, so no new/delete pair is optimized away.
void *volatile sink;

// Sizes that can never be allocated, hidden from the optimizer.
volatile std::size_t huge_size = std::size_t(1) << 62;
volatile std::size_t max_size = SIZE_MAX;

struct Counts {
    std::uint64_t mallocs, frees, objects;
};

Counts counts()
{
    hp_memstats_t st;
    hp_read_memstats(&st);
    return Counts{st.mallocs, st.frees, st.heap_objects};
}

bool aligned(const void *p, std::size_t a) { return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0; }

// Runs `alloc`, checks it allocated one hotpath object, then `release`, and
// checks that freed it.
template <typename A, typename R> void check_pair(const char *what, A alloc, R release)
{
    Counts a = counts();
    void *p = alloc();
    sink = p;
    Counts b = counts();
    CHECK_MSG(p != nullptr, "%s returned nullptr", what);
    CHECK_MSG(b.mallocs == a.mallocs + 1, "%s did not allocate through hotpath", what);
    if (p) std::memset(p, 0x6b, malloc_usable_size(p)); /* all of it is writable */
    release(p);
    Counts c = counts();
    CHECK_MSG(c.frees == b.frees + 1, "%s: delete did not free through hotpath", what);
    CHECK_MSG(c.objects == a.objects, "%s: live objects %llu -> %llu", what,
              (unsigned long long)a.objects, (unsigned long long)c.objects);
}

void test_plain_forms()
{
    check_pair("operator new", [] { return ::operator new(40); },
               [](void *p) { ::operator delete(p); });
    check_pair("operator new[]", [] { return ::operator new[](400); },
               [](void *p) { ::operator delete[](p); });
    check_pair("operator new nothrow", [] { return ::operator new(40, std::nothrow); },
               [](void *p) { ::operator delete(p, std::nothrow); });
    check_pair("operator new[] nothrow", [] { return ::operator new[](4000, std::nothrow); },
               [](void *p) { ::operator delete[](p, std::nothrow); });
    check_pair("sized delete", [] { return ::operator new(72); },
               [](void *p) { ::operator delete(p, 72); });
    check_pair("sized delete[]", [] { return ::operator new[](100000); },
               [](void *p) { ::operator delete[](p, 100000); });
    check_pair("operator new(0)", [] { return ::operator new(0); },
               [](void *p) { ::operator delete(p); });
    check_pair("large operator new", [] { return ::operator new(3 << 20); },
               [](void *p) { ::operator delete(p, std::size_t(3) << 20); });

    // new-expressions, which is how programs really call these.
    check_pair("new int", [] { return static_cast<void *>(new int(7)); },
               [](void *p) { delete static_cast<int *>(p); });
    check_pair("new char[]", [] { return static_cast<void *>(new char[1234]); },
               [](void *p) { delete[] static_cast<char *>(p); });
}

struct alignas(64) Line {
    char bytes[64];
};

void test_aligned_forms()
{
    static const std::size_t aligns[] = {64, 4096, std::size_t(1) << 20};
    static const std::size_t sizes[] = {1, 64, 100, 5000, 40000};
    for (std::size_t a : aligns) {
        for (std::size_t s : sizes) {
            std::align_val_t al{a};
            Counts c0 = counts();
            void *p = ::operator new(s, al);
            void *q = ::operator new[](s, al);
            void *r = ::operator new(s, al, std::nothrow);
            void *t = ::operator new[](s, al, std::nothrow);
            Counts c1 = counts();
            CHECK_MSG(aligned(p, a) && aligned(q, a) && aligned(r, a) && aligned(t, a),
                      "aligned new(%zu, align %zu) misaligned", s, a);
            CHECK(p && q && r && t);
            CHECK_EQ(c1.mallocs, c0.mallocs + 4);
            CHECK_GE(malloc_usable_size(p), s);
            std::memset(p, 1, s);
            std::memset(q, 2, s);
            std::memset(r, 3, s);
            std::memset(t, 4, s);
            ::operator delete(p, al);
            ::operator delete[](q, s, al);
            ::operator delete(r, al, std::nothrow);
            ::operator delete[](t, al, std::nothrow);
            Counts c2 = counts();
            CHECK_EQ(c2.frees, c1.frees + 4);
            CHECK_EQ(c2.objects, c0.objects);
        }
    }
    // The sized aligned delete, and an over-aligned type's new-expression.
    void *p = ::operator new(200, std::align_val_t{4096});
    CHECK(aligned(p, 4096));
    ::operator delete(p, 200, std::align_val_t{4096});
    Counts c0 = counts();
    Line *l = new Line[10];
    CHECK(aligned(l, 64));
    delete[] l;
    Counts c1 = counts();
    CHECK_EQ(c1.mallocs, c0.mallocs + 1);
    CHECK_EQ(c1.frees, c0.frees + 1);
}

void test_failure_throws()
{
    for (std::size_t s : {std::size_t(huge_size), std::size_t(max_size)}) {
        bool threw = false;
        try {
            void *p = ::operator new(s);
            ::operator delete(p);
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        CHECK_MSG(threw, "operator new(%#zx) did not throw std::bad_alloc", s);
        threw = false;
        try {
            void *p = ::operator new[](s);
            ::operator delete[](p);
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        CHECK_MSG(threw, "operator new[](%#zx) did not throw std::bad_alloc", s);
        threw = false;
        try {
            void *p = ::operator new(s, std::align_val_t{4096});
            ::operator delete(p, std::align_val_t{4096});
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        CHECK_MSG(threw, "aligned operator new(%#zx) did not throw std::bad_alloc", s);

        CHECK(::operator new(s, std::nothrow) == nullptr);
        CHECK(::operator new[](s, std::nothrow) == nullptr);
        CHECK(::operator new(s, std::align_val_t{64}, std::nothrow) == nullptr);
        CHECK(::operator new[](s, std::align_val_t{64}, std::nothrow) == nullptr);
    }
    // The allocator keeps working afterwards.
    check_pair("new after failures", [] { return ::operator new(64); },
               [](void *p) { ::operator delete(p); });
}

int handler_calls;

// Gives up on the third call by removing itself: operator new then throws.
void giving_up_handler()
{
    if (++handler_calls >= 3) std::set_new_handler(nullptr);
}

// Throws at once, as a handler may; a nothrow new turns that into nullptr.
void throwing_handler()
{
    ++handler_calls;
    throw std::bad_alloc();
}

void test_new_handler()
{
    handler_calls = 0;
    std::set_new_handler(giving_up_handler);
    bool threw = false;
    try {
        void *p = ::operator new(huge_size);
        ::operator delete(p);
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw);
    CHECK_MSG(handler_calls == 3, "new_handler called %d times, want 3", handler_calls);
    CHECK(std::get_new_handler() == nullptr);

    handler_calls = 0;
    std::set_new_handler(giving_up_handler);
    threw = false;
    try {
        void *p = ::operator new(huge_size, std::align_val_t{256});
        ::operator delete(p, std::align_val_t{256});
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    CHECK(threw);
    CHECK_MSG(handler_calls == 3, "aligned new: new_handler called %d times, want 3",
              handler_calls);

    handler_calls = 0;
    std::set_new_handler(throwing_handler);
    void *p = ::operator new(huge_size, std::nothrow);
    CHECK(p == nullptr);
    CHECK_MSG(handler_calls == 1, "nothrow new: new_handler called %d times, want 1",
              handler_calls);
    handler_calls = 0;
    p = ::operator new[](huge_size, std::nothrow);
    CHECK(p == nullptr);
    CHECK_EQ(handler_calls, 1);

    // A handler is not called when the allocation succeeds.
    handler_calls = 0;
    p = ::operator new(100);
    CHECK_EQ(handler_calls, 0);
    ::operator delete(p);
    std::set_new_handler(nullptr);
}

} // namespace

int main()
{
    // The first large free starts the allocator's scavenger thread, and
    // pthread_create allocates; start it now so that it does not count below.
    ::operator delete(::operator new(1 << 20));
    Counts a = counts();
    void *p = std::malloc(10);
    Counts b = counts();
    std::free(p);
    if (!CHECK_MSG(b.mallocs == a.mallocs + 1, "hotpath is not the allocator of this process"))
        return TEST_DONE() | 1;
    test_plain_forms();
    test_aligned_forms();
    test_failure_throws();
    test_new_handler();
    return TEST_DONE();
}
