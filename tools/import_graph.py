#!/usr/bin/env python3
"""The runtime's module graph, and the check that keeps it layered.

Reads every `.rs` file of crates/cembed-runtime/src, collects the paths it
names (`use crate::...`, `use super::...`, `crate::x::f(...)` in code, paths
through a child module or a `use`d module), maps each to the runtime module
(file) it lands in, and builds the file-level import graph.

Fails (exit 1) on any import cycle that is not entirely inside `cdata/` (the
data model's types, objects and conversions are one unit and may refer to
each other), printing one cycle of each offending group. `--layers` also
lists every edge that goes up the layer order docs/runtime.md describes
(allowed when it makes no cycle, but worth a look); `--dot` prints the graph.

Usage: tools/import_graph.py [--layers] [--dot] [SRC_DIR]
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SRC = os.path.join(ROOT, "crates", "cembed-runtime", "src")

# Lowest first: a module may import from its own layer and the ones before.
LAYERS = ["py", "desc", "lifecycle", "cdata", "calls", "objects", "entry", ""]
# Cycles entirely inside this folder are tolerated.
CYCLE_OK = "cdata"


def module_of(src, path):
    rel = os.path.relpath(path, src)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def strip_comments_and_strings(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    # Character literals first ('"' would open a string), then plain and C
    # string literals (no raw strings in the runtime).
    text = re.sub(r"'(?:\\.|[^'\\])'", "' '", text, flags=re.S)
    return re.sub(r'c?"(?:\\.|[^"\\])*"', '""', text, flags=re.S)


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (as segment lists)."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, s):
        # split s at top-level commas
        depth, start, parts = 0, 0, []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:i])
                start = i + 1
        parts.append(s[start:])
        for p in parts:
            if not p:
                continue
            if "{" in p:
                head, rest = p.split("{", 1)
                walk(prefix + [x for x in head.split("::") if x], rest[: rest.rindex("}")])
            else:
                p = re.sub(r"\bas\w+$", "", p.split(" as ")[0])
                out.append(prefix + [x for x in p.split("::") if x])

    walk([], tree)
    return out


def resolve(segments, here, modules):
    """The module a path lands in, or None for paths outside the crate."""
    if not segments:
        return None
    if segments[0] == "crate":
        base, rest = (), segments[1:]
    elif segments[0] == "super":
        base, rest = here, segments
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif segments[0] == "self":
        base, rest = here, segments[1:]
    elif here + (segments[0],) in modules:
        base, rest = here, segments  # a child module of this file
    elif (segments[0],) in modules and here == ():
        base, rest = (), segments
    else:
        return None
    best = base if base in modules else None
    cur = base
    for seg in rest:
        cur = cur + (seg,)
        if cur in modules:
            best = cur
        else:
            break
    return best


def build_graph(src):
    files = {}
    for dirpath, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(dirpath, n)
                files[module_of(src, p)] = p
    modules = set(files)
    edges = {m: set() for m in modules}
    for here, path in files.items():
        text = strip_comments_and_strings(open(path, encoding="utf-8").read())
        aliases = {}  # names a `use` brought in that are modules
        paths = []
        for m in re.finditer(r"\buse\s+([^;]+);", text):
            for segs in expand_use_tree(m.group(1)):
                paths.append(segs)
                if segs and segs[-1] != "self":
                    aliases[segs[-1]] = segs
                elif len(segs) > 1:
                    aliases[segs[-2]] = segs[:-1]
        for m in re.finditer(r"\b(?:crate|super|self)(?:::\w+)+", text):
            paths.append(m.group(0).split("::"))
        # `alias::item` where `alias` is a module brought in by `use`, or a child.
        for m in re.finditer(r"\b(\w+)::\w+", text):
            a = m.group(1)
            if a in aliases:
                paths.append(aliases[a] + [m.group(0).split("::")[1]])
            elif here + (a,) in modules:
                paths.append([a, m.group(0).split("::")[1]])
        for segs in paths:
            target = resolve(segs, here, modules)
            if target is not None and target != here:
                # a parent mod.rs only declaring its children is no import
                edges[here].add(target)
    # Declarations (`mod x;`) are not imports: drop parent -> child edges that
    # only come from `pub(crate) mod x;` lines.
    for here, path in files.items():
        text = strip_comments_and_strings(open(path, encoding="utf-8").read())
        for child in re.findall(r"\bmod\s+(\w+)\s*;", text):
            c = here + (child,)
            uses = re.search(r"\b" + child + r"::", text.replace("mod " + child + ";", ""))
            if c in edges[here] and not uses:
                edges[here].discard(c)
    return files, edges


def sccs(edges):
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def a_cycle(comp, edges):
    """One cycle through the group's first module, by breadth-first search."""
    comp = set(comp)
    start = sorted(comp)[0]
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v] & comp):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return [start] + path[::-1][1:] + [start] if path[-1] == start else list(reversed(path)) + [start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return sorted(comp)


def name(m):
    return "crate" if not m else "::".join(m)


def layer(m):
    top = m[0] if m else ""
    return LAYERS.index(top) if top in LAYERS else len(LAYERS) - 1


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    src = args[0] if args else DEFAULT_SRC
    files, edges = build_graph(src)
    if "--dot" in argv:
        print("digraph runtime {")
        for v in sorted(edges):
            for w in sorted(edges[v]):
                print(f'  "{name(v)}" -> "{name(w)}";')
        print("}")
    if "--layers" in argv:
        for v in sorted(edges):
            for w in sorted(edges[v]):
                if layer(w) > layer(v):
                    print(f"up a layer: {name(v)} -> {name(w)}")
    bad = [c for c in sccs(edges) if not all(m[:1] == (CYCLE_OK,) for m in c)]
    n_edges = sum(len(e) for e in edges.values())
    if not bad:
        print(f"import graph: {len(files)} modules, {n_edges} edges, no cycle outside {CYCLE_OK}/")
        return 0
    for c in bad:
        cyc = a_cycle(c, edges)
        print(f"import cycle among {len(c)} modules: " + ", ".join(name(m) for m in sorted(c)))
        print("  e.g. " + " -> ".join(name(m) for m in cyc))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
