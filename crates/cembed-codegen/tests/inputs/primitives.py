from primitives import ffi, lib

@ffi.def_extern()
def i(a, b):
    return a + b   # "quotes", \backslash, tab	and unicode: é ✓ ??= trigraph
