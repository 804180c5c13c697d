#!/usr/bin/env python3
"""Refuses import cycles between the modules of each crate under `crates/`.

For every crate it reads `src/**/*.rs`, resolves each `crate::…`, `super::…` and `self::…`
path (in `use` trees and in code) and, in the crate root, each path that starts with one of
the root's modules, to the module it names. A reference from module `a::b` to `a::c::d`
is the edge `b -> c` among the children of `a`: the check runs at every level, so a cycle
among the top-level modules and one inside `routes/` are both reported. Items of a module
itself (declared in its `mod.rs` or in the crate root) are the node `(self)` of that level.

Comments, string and character literals are ignored; `mod` declarations are not edges.
Exits 1 naming each cycle found, 0 when there is none. Standard library only.

    python3 scripts/check-module-cycles.py [crates-dir]
"""

import pathlib
import re
import sys

SELF = "(self)"


def strip(text):
    """The source with comments, strings and character literals blanked."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'":
            m = re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", text[i:])
            if m:
                i += m.end()
                out.append("' '")
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def module_of(src, path):
    """The module path of a file: `src/routes/mod.rs` -> ["routes"]."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod" or (len(parts) == 1 and parts[0] in ("lib", "main")):
        parts = parts[:-1]
    return parts


IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PATH = re.compile(r"\b(crate|super|self)((?:\s*::\s*" + IDENT + r")*)(\s*::\s*\{)?")
MOD_BLOCK = re.compile(r"\bmod\s+(" + IDENT + r")\s*\{")
USE = re.compile(r"\b(pub(?:\s*\([^)]*\))?\s+)?use\s+([^;]*);")


def use_paths(tree):
    """Every path a `use` tree names, each as a list of segments (groups expanded)."""
    tree = re.sub(r"\s+as\s+" + IDENT, "", tree)
    tree = re.sub(r"\s+", "", tree)

    def expand(s):
        s = s.lstrip(":")
        depth = 0
        for k, ch in enumerate(s):
            if ch == "{":
                prefix = [p for p in s[:k].split("::") if p]
                body = s[k + 1 : s.rfind("}")]
                items, start, d = [], 0, 0
                for j, cj in enumerate(body):
                    d += cj == "{"
                    d -= cj == "}"
                    if cj == "," and d == 0:
                        items.append(body[start:j])
                        start = j + 1
                items.append(body[start:])
                result = []
                for item in items:
                    if item:
                        result += [prefix + p for p in expand(item)] or [prefix]
                return result
            depth += 0
        return [[p for p in s.split("::") if p and p != "*"]]

    return expand(tree)


def resolve(segments, here, root_modules):
    """An absolute module path for `segments` seen in module `here`, or None (extern)."""
    if not segments:
        return None
    head, rest = segments[0], segments[1:]
    if head == "crate":
        return rest
    if head == "self":
        return here + rest
    if head == "super":
        base = list(here)
        while segments and segments[0] == "super":
            base = base[:-1]
            segments = segments[1:]
        if segments and segments[0] == "self":
            segments = segments[1:]
        return base + segments
    if not here and head in root_modules:
        return segments
    return None


def references(text, file_module):
    """(module path of the referring code, referenced path segments) in one stripped file."""
    # Inline `mod name { … }` blocks change the module the code inside them is in.
    spans = []
    for m in MOD_BLOCK.finditer(text):
        depth, j = 0, m.end() - 1
        while j < len(text):
            depth += text[j] == "{"
            depth -= text[j] == "}"
            if depth == 0:
                break
            j += 1
        spans.append((m.end(), j, m.group(1)))

    def module_at(pos):
        inner = [s for s in spans if s[0] <= pos < s[1]]
        inner.sort()
        return file_module + [name for _, _, name in inner]

    refs, exports, used = [], [], []
    for m in USE.finditer(text):
        here = module_at(m.start())
        for segments in use_paths(m.group(2)):
            # A re-export is a door, not a dependency: paths through it are followed instead.
            (exports if m.group(1) else refs).append((here, segments))
        used.append((m.start(), m.end()))
    for m in PATH.finditer(text):
        if any(a <= m.start() < b for a, b in used):
            continue
        segments = [m.group(1)] + [s for s in re.split(r"\s*::\s*", m.group(2)) if s]
        before = text[max(0, m.start() - 8) : m.start()]
        # `pub(crate)`, `pub(super)`, `pub(in crate::x)` and bare `self`/`super` are not
        # references to a module.
        if len(segments) == 1 or re.search(r"(\bpub\s*\(\s*|\bin\s+)$", before):
            continue
        refs.append((module_at(m.start()), segments))
    return refs, exports


def crate_graphs(src):
    """{scope (tuple): {node: set(nodes)}} for one crate's `src` directory."""
    files = sorted(src.rglob("*.rs"))
    modules = set()
    for f in files:
        mod = module_of(src, f)
        for k in range(len(mod) + 1):
            modules.add(tuple(mod[:k]))
    root_modules = {m[0] for m in modules if len(m) == 1}
    all_refs, reexports = [], {}
    for f in files:
        refs, exports = references(strip(f.read_text(encoding="utf-8")), module_of(src, f))
        all_refs += refs
        for here, segments in exports:
            target = resolve(segments, here, root_modules)
            if target:
                reexports[tuple(here) + (target[-1],)] = target

    def through_reexports(target):
        for _ in range(8):
            for k in range(len(target), 0, -1):
                if tuple(target[:k]) in reexports and tuple(target[:k]) not in modules:
                    target = reexports[tuple(target[:k])] + target[k:]
                    break
            else:
                return target
        return target

    graphs = {}
    for here, segments in all_refs:
        if True:
            target = resolve(segments, here, root_modules)
            if target is None:
                continue
            target = through_reexports(target)
            # The longest prefix of the target that is a module (file-backed).
            k = len(target)
            while k and tuple(target[:k]) not in modules:
                k -= 1
            target = target[:k]
            here = list(here)
            while tuple(here) not in modules:
                here = here[:-1]
            common = 0
            while common < min(len(here), len(target)) and here[common] == target[common]:
                common += 1
            a = here[common] if common < len(here) else SELF
            b = target[common] if common < len(target) else SELF
            if a == b:
                continue
            graphs.setdefault(tuple(here[:common]), {}).setdefault(a, set()).add(b)
    return graphs


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def one_cycle(graph, comp):
    """A shortest cycle through the first node of a component, as a list of nodes."""
    start = comp[0]
    members = set(comp)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.get(v, ())):
            if w == start:
                return paths[v] + [start]
            if w in members and w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return comp


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "crates")
    found = 0
    for crate in sorted(p for p in root.iterdir() if (p / "src").is_dir()):
        for scope, graph in sorted(crate_graphs(crate / "src").items()):
            for comp in cycles(graph):
                found += 1
                where = "::".join(("crate",) + scope)
                path = " -> ".join(one_cycle(graph, comp))
                print(f"{crate.name}: module cycle in {where}: {path} (all of: {', '.join(comp)})")
    if found:
        print(f"check-module-cycles: {found} cycle(s); break each by moving the shared piece down")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
