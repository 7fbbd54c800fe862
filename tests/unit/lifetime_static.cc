// lifetime_static: the C++ part of lifetime_test (see lifetime_test.c).
//
// A static object whose constructor allocates before main through operator
// new (std::string, std::vector, std::map) and whose destructor, which runs
// after main has returned, checks those containers, frees them and allocates
// again.
#include <map>
#include <memory>
#include <string>
#include <vector>

extern "C" void lifetime_mark(unsigned stage, int ok);

namespace {

constexpr unsigned kCtorStage = 1u << 6, kDtorStage = 1u << 7;

std::string make_text(int i) { return "static object string number " + std::to_string(i); }

struct StaticObject {
    std::vector<std::string> texts;
    std::map<int, std::unique_ptr<std::vector<int>>> tables;

    StaticObject()
    {
        for (int i = 0; i < 500; i++) texts.push_back(make_text(i));
        for (int i = 0; i < 50; i++) tables[i] = std::make_unique<std::vector<int>>(i * 100, i);
        lifetime_mark(kCtorStage, texts.size() == 500);
    }

    ~StaticObject()
    {
        bool ok = texts.size() == 500;
        for (int i = 0; i < 500 && ok; i++) ok = texts[i] == make_text(i);
        for (auto &kv : tables)
            ok = ok && kv.second->size() == std::size_t(kv.first) * 100 &&
                 (kv.first == 0 || kv.second->back() == kv.first);
        texts.clear();
        texts.shrink_to_fit();
        tables.clear();
        std::vector<std::string> again;
        for (int i = 0; i < 1000; i++) again.push_back(make_text(i * 3));
        ok = ok && again[999] == make_text(2997);
        lifetime_mark(kDtorStage, ok);
    }
};

StaticObject the_object;

} // namespace
