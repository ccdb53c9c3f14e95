/* Included from set_source() only (CFFI_DLLEXPORT comes from there). */
#include <stdint.h>
enum mode { MODE_A = 3, MODE_HIDDEN = 4, MODE_B = 17, MODE_C = -2 };
typedef uint16_t handle_t;      /* "typedef int... handle_t" in the cdef */
typedef int64_t ticks_t;
CFFI_DLLEXPORT int lookup[7] = { 1, 1, 2, 3, 5, 8, 13 };
struct withlen { int n; char data[24]; };
