// Typedefs are resolved away (the declarations show the real types).
typedef int myint;
typedef myint myint2;
typedef myint *myint_ptr;
typedef const char *cstr;
typedef unsigned long long u64_t;
typedef char buf16[16];
typedef buf16 *buf16_ptr;
typedef int a_t, *a_ptr_t, a_arr_t[2];
typedef const int cint;
typedef int myint;
myint x;
myint2 y;
myint_ptr z;
cstr name;
buf16 b;
buf16_ptr bp;
a_arr_t aa;
const myint cm;
cint ci;
void use(myint, cstr, buf16);
/* A user typedef of a name CFFI knows as a primitive takes precedence. */
typedef int int32_t;
int32_t shadowed;
/* Typedef names can be parameter names when a type was already given. */
void param_names(int myint, cstr cstr2);
