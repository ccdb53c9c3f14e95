# Found by the toolbox fuzzer: ffi.buffer() of a NULL `struct fam *` global made a buffer over address 0
# (SIGSEGV on use); now RuntimeError.
STATEMENTS = [
    'V.append(lib.fam_ptr)',
    'V.append(ffi.buffer(v(0)))',
    'V.append(memoryview(v(1)).tobytes())',
]
