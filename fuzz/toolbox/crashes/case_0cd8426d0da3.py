# Found by the toolbox fuzzer: ffi.release() of an ffi.gc() primitive freed the value the cdata still
# read (SIGSEGV); now the destructor runs and the value stays (CFFI).
STATEMENTS = [
    "V.append(ffi.cast('int', 0))",
    'V.append(ffi.gc(v(0), lambda p: None))',
    'ffi.release(v(1))',
    "V.append(ffi.cast('int', v(1)))",
]
