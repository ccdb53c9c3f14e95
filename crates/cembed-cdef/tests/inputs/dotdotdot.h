// CFFI's `...` forms: the compiler supplies what the cdef leaves out.
struct partial { int known; ...; };
typedef struct { char *name; ...; } partial_t;
struct only_dots { ...; };
enum partial_e { PA, PB, ... };
enum partial_v { PV_A = ..., PV_B = 3, PV_C };
int arr[...];
struct with_arr { int data[...]; int rows[...][4]; };
typedef int... handle_t;
typedef unsigned long... ulong_like_t;
typedef char... char_like_t;
typedef float... real_t;
typedef double... dreal_t;
typedef ... opaque_t;
opaque_t *make(handle_t h, real_t r);
#define SIZE ...
#define KNOWN 42
#define LEN ...
int from_macro[LEN];
struct uses_len { char name[LEN + 1]; };
enum partial_ref { PR_A = ..., PR_B = PR_A + 1, PR_C = 5, PR_D };
enum uses_macro { UM_A = LEN, UM_B };
int matrix[...][...];
typedef int grid_t[...][3];
struct with_ptr_arrays { char *names[...]; };
