# extern "Python" callbacks passed to C: qsort with a Python comparator on
# ints and on structs, and a visitor with void* user data.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    void run(void);
""")
ffibuilder.cdef("""
    typedef struct { char name[8]; int age; } person_t;
    void qsort(void *base, size_t nmemb, size_t size, int (*compar)(const void *, const void *));
    extern "Python" int cmp_int_desc(const void *, const void *);
    extern "Python" int cmp_person(const void *, const void *);
    void c_visit(int *arr, int n, void (*cb)(int, void *), void *ud);
    extern "Python" void visitor(int, void *);
""")
ffibuilder.set_source("dmcase", """
    #include <stdlib.h>
    typedef struct { char name[8]; int age; } person_t;
    static void c_visit(int *arr, int n, void (*cb)(int, void *), void *ud) {
        for (int i = 0; i < n; i++) cb(arr[i], ud);
    }
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

calls = [0]

@ffi.def_extern()
def cmp_int_desc(a, b):
    calls[0] += 1
    x = ffi.cast("int *", a)[0]
    y = ffi.cast("int *", b)[0]
    return (x < y) - (x > y)

@ffi.def_extern()
def cmp_person(a, b):
    p = ffi.cast("person_t *", a)
    q = ffi.cast("person_t *", b)
    return (p.age > q.age) - (p.age < q.age) or (ffi.string(p.name) > ffi.string(q.name)) - (ffi.string(p.name) < ffi.string(q.name))

@ffi.def_extern()
def visitor(v, ud):
    ffi.from_handle(ud).append(v * 2)

@ffi.def_extern()
def run():
    arr = ffi.new("int[]", [5, -2, 9, 0, 9, 3])
    lib.qsort(arr, len(arr), ffi.sizeof("int"), lib.cmp_int_desc)
    print("sorted desc", list(arr), "comparator called", calls[0] > 0, flush=True)
    people = ffi.new("person_t[]", [[b"bob", 30], [b"al", 25], [b"cy", 30], [b"di", 20]])
    lib.qsort(people, len(people), ffi.sizeof("person_t"), lib.cmp_person)
    print("people", [(ffi.string(p.name).decode(), p.age) for p in people], flush=True)
    print("callback type", ffi.typeof(lib.cmp_int_desc).cname, flush=True)
    seen = []
    h = ffi.new_handle(seen)
    lib.c_visit(arr, len(arr), lib.visitor, h)
    print("visited", seen, flush=True)
""")
ffibuilder.compile(target="libcase.*", verbose=False)
