# workload.py: a python3 workload heavy on allocation (dicts, lists, strings,
# big integers, JSON, sorting, a regex, objects with cycles), deterministic so
# that its output is the same on every allocator.  Used by run_python3.sh.
import gc
import hashlib
import json
import random
import re

rng = random.Random(42)
h = hashlib.sha256()

def emit(*args):
    line = " ".join(str(a) for a in args)
    h.update(line.encode())
    print(line)

# Dicts and lists of strings.
words = ["".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(1, 12)))
         for _ in range(200000)]
counts = {}
for w in words:
    counts[w] = counts.get(w, 0) + 1
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
emit("distinct", len(counts), "top", top)

# JSON round trips of nested documents.
docs = [{"id": i, "tags": [words[(i * 7 + j) % len(words)] for j in range(i % 9)],
         "score": rng.random(), "nested": {"a": list(range(i % 50))}} for i in range(30000)]
text = json.dumps(docs, sort_keys=True)
back = json.loads(text)
emit("json", len(text), back[12345]["tags"], round(sum(d["score"] for d in back), 6))

# Big integers.
f = 1
for i in range(1, 1200):
    f *= i
emit("factorial digits", len(str(f)), str(f)[:20])

# Sorting tuples, strings with regex.
pairs = sorted((rng.randint(0, 1000), w) for w in words[:100000])
emit("sorted", pairs[:3], pairs[-3:])
joined = " ".join(words[:50000])
emit("regex", len(re.findall(r"\b[a-d]{3,}\b", joined)))

# Objects with reference cycles, collected by the cycle GC.
class Node:
    def __init__(self, v):
        self.v = v
        self.peer = None

for round_ in range(5):
    nodes = [Node(i) for i in range(50000)]
    for a, b in zip(nodes, nodes[1:]):
        a.peer = b
    nodes[-1].peer = nodes[0]
    total = sum(n.v for n in nodes)
    del nodes
    gc.collect()
emit("cycles", total)

# Many small strings freed and reallocated as they grow.
s = ""
for i in range(100000):
    s += words[i % 1000][:3]
emit("concat", len(s), hashlib.md5(s.encode()).hexdigest())
print("digest", h.hexdigest())
