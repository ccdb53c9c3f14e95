# A self-referencing struct: C builds a list, Python walks and edits it,
# Python builds nodes (kept alive) and links them in, returns a pointer.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    struct node { int value; struct node *next; };
    struct node *process(struct node *head);
""")
ffibuilder.set_source("dmcase", "struct node { int value; struct node *next; };")
ffibuilder.embedding_init_code("""
from dmcase import ffi

keep = []

@ffi.def_extern()
def process(head):
    vals = []
    n = head
    while n != ffi.NULL:
        vals.append(n.value)
        n.value *= 10
        n = n.next
    print("walked", vals, flush=True)
    # prepend two Python-owned nodes
    b = ffi.new("struct node *", {"value": -2, "next": head})
    a = ffi.new("struct node *", [-1, b])
    keep.extend([a, b])
    print("a.next is b", a.next == b, "b.next is head", b.next == head, flush=True)
    return a
""")
ffibuilder.compile(target="libcase.*", verbose=False)
