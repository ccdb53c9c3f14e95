# ffi.unpack() of a huge wide string: the result's allocation aborted the
# process (now MemoryError).
STATEMENTS = [
    "V.append(ffi.unpack(ffi.new('wchar_t *'), 2**31))",
    "V.append(ffi.unpack(ffi.new('wchar_t *'), 2**60))",
]
