# Found by the toolbox fuzzer: ffi.buffer() of a NULL pointer, then a slice of it (SIGSEGV); now
# RuntimeError at ffi.buffer().
STATEMENTS = [
    "V.append(ffi.cast('int *', 0))",
    'V.append(ffi.buffer(v(0)))',
    'V.append(v(1)[ix(v(1), 1):ix(v(1), 2)])',
]
