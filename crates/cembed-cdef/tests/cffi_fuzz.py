"""Differential fuzzing of declaration acceptance: random cdef texts from a
small C declaration grammar go through the real cffi and through cembed's
parser (`cargo run --example cdef_check`); every disagreement is printed.

Usage: python tests/cffi_fuzz.py [N] [SEED]   (needs `pip install cffi`)
"""
import os
import random
import subprocess
import sys
import warnings

import cffi

warnings.simplefilter("ignore")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)

PRIMS = ["char", "signed char", "unsigned char", "short", "unsigned short", "int",
         "unsigned int", "unsigned", "long", "unsigned long", "long long",
         "unsigned long long", "float", "double", "long double", "_Bool", "bool",
         "size_t", "ssize_t", "int8_t", "uint64_t", "intptr_t", "wchar_t",
         "char16_t", "char32_t", "ptrdiff_t", "int_fast16_t", "uint_least32_t",
         "short int", "long int", "signed", "signed int", "unsigned short int"]


class Gen:
    def __init__(self):
        self.typedefs = []
        self.structs = []
        self.n = 0

    def name(self, p="n"):
        self.n += 1
        return f"{p}{self.n}"

    def base(self, allow_void=True):
        r = rng.random()
        if r < 0.5 or not (self.typedefs or self.structs):
            b = rng.choice(PRIMS + (["void"] if allow_void else []))
        elif r < 0.75 and self.typedefs:
            b = rng.choice(self.typedefs)
        elif self.structs:
            b = rng.choice(self.structs)
        else:
            b = "int"
        if rng.random() < 0.15:
            b = "const " + b
        return b

    def declarator(self, name, depth=0):
        """Returns a declarator string around `name`."""
        d = name
        for _ in range(rng.randint(0, 2)):
            r = rng.random()
            if r < 0.4:
                d = "*" + ("const " if rng.random() < 0.2 else "") + d
            elif r < 0.65:
                d = (f"({d})" if d.startswith("*") else d) + f"[{rng.choice(['', '3', '2+1', '...', '0x4'])}]"
            elif r < 0.85 and depth < 2:
                params = self.params(depth + 1)
                d = (f"({d})" if d.startswith("*") else d) + f"({params})"
            else:
                d = f"(*{d})"
        return d

    def params(self, depth):
        k = rng.randint(0, 3)
        if k == 0:
            return rng.choice(["void", ""])
        ps = []
        for _ in range(k):
            nm = self.name("p") if rng.random() < 0.5 else ""
            ps.append(f"{self.base(allow_void=False)} {self.declarator(nm, depth)}".strip())
        if rng.random() < 0.15:
            ps.append("...")
        return ", ".join(ps)

    def decl(self):
        r = rng.random()
        if r < 0.25:
            nm = self.name("t")
            s = f"typedef {self.base()} {self.declarator(nm)};"
            self.typedefs.append(nm)
            return s
        if r < 0.45:
            tag = self.name("s")
            kind = rng.choice(["struct", "union"])
            fields = []
            for _ in range(rng.randint(0, 4)):
                f = self.name("f")
                if rng.random() < 0.15:
                    fields.append(f"{rng.choice(['int', 'unsigned', 'char', 'long'])} {f} : {rng.randint(0, 9)};")
                else:
                    fields.append(f"{self.base(allow_void=False)} {self.declarator(f)};")
            if rng.random() < 0.1:
                fields.append("...;")
            self.structs.append(f"{kind} {tag}")
            return f"{kind} {tag} {{ {' '.join(fields)} }};"
        if r < 0.55:
            tag = self.name("e")
            items = [f"{self.name('E')}" + (f" = {rng.randint(-5, 50)}" if rng.random() < 0.3 else "")
                     for _ in range(rng.randint(1, 4))]
            return f"enum {tag} {{ {', '.join(items)} }};"
        if r < 0.6:
            return f"#define {self.name('M')} {rng.choice(['1', '-2', '0x10', '077', '...', '10UL'])}"
        nm = self.name("g")
        pre = rng.choice(["", "extern ", "static "])
        return f"{pre}{self.base()} {self.declarator(nm)};"


def case():
    g = Gen()
    return "\n".join(g.decl() for _ in range(rng.randint(1, 6)))


def cffi_ok(text):
    ffi = cffi.FFI()
    try:
        ffi.cdef(text)
        return True, ""
    except Exception as e:
        return False, f"{type(e).__name__}: {e}".replace("\n", " | ")[:160]


cases = [case() for _ in range(N)]
here = os.path.dirname(os.path.abspath(__file__))
out = subprocess.run(
    ["cargo", "run", "-q", "--example", "cdef_check"], cwd=here, check=True,
    input="\0".join(cases).encode(), stdout=subprocess.PIPE).stdout.decode().splitlines()
assert len(out) == len(cases), (len(out), len(cases))
diffs = {}
for text, ours in zip(cases, out):
    ok, msg = cffi_ok(text)
    if ok != (ours == "OK"):
        key = (ok, ours.split("`")[0] if not ok else msg.split(":")[0])
        key = ("cffi accepts, cembed: " + ours) if ok else ("cembed accepts, cffi: " + msg)
        diffs.setdefault(key[:110], []).append(text)
for k, v in sorted(diffs.items(), key=lambda kv: -len(kv[1])):
    print(f"{len(v):5}  {k}")
    print("       e.g. " + min(v, key=len).replace("\n", "  "))
print(f"{sum(map(len, diffs.values()))} of {N} cases disagree", file=sys.stderr)
