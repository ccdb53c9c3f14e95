/* C code pasted into the library (set_source's code): as with CFFI, the
   types the API declares are defined by real C here. */
#include <stdbool.h>
typedef struct { int x, y; } point_t;
