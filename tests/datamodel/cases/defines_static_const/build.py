# #define integer constants (explicit and "..."), static const values of
# several types, and their read-only-ness on lib.
import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("""
    #define VERSION 42
    #define NEG_ONE -1
    #define HEXV 0x7f
    #define FROM_HEADER ...
    #define BIG_U ...
    static const int MAX_ITEMS;
    static const double PI_ISH;
    static const char *const GREETING;
    static const long long HUGE_NEG;
    static const unsigned char SMALL;
    void run(void);
""")
ffibuilder.set_source("dmcase", """
    #define VERSION 42
    #define NEG_ONE -1
    #define HEXV 0x7f
    #define FROM_HEADER (6 * 7 + 1)
    #define BIG_U 18446744073709551615ULL
    static const int MAX_ITEMS = 128;
    static const double PI_ISH = 3.25;
    static const char *const GREETING = "hi there";
    static const long long HUGE_NEG = -9000000000000000000LL;
    static const unsigned char SMALL = 200;
""")
ffibuilder.embedding_init_code("""
from dmcase import ffi, lib

def out(*a):
    print(*a, flush=True)

@ffi.def_extern()
def run():
    out("defines", lib.VERSION, lib.NEG_ONE, lib.HEXV, lib.FROM_HEADER, lib.BIG_U)
    out("types", type(lib.VERSION).__name__, type(lib.PI_ISH).__name__)
    out("static const", lib.MAX_ITEMS, lib.PI_ISH, ffi.string(lib.GREETING), lib.HUGE_NEG, lib.SMALL)
    for name in ["VERSION", "MAX_ITEMS"]:
        try:
            setattr(lib, name, 1)
            out(name, "writable?!")
        except AttributeError:
            out(name, "AttributeError on write")
    out("in dir", sorted(n for n in dir(lib) if n.isupper()))
""")
ffibuilder.compile(target="libcase.*", verbose=False)
