#include <stdint.h>
#include <stddef.h>
struct mixed { char c; double d; short s; int64_t q; char tail[3]; };
typedef struct { char a; struct { short b; long long c; } inner; char arr[5]; float f; } nest_t;
typedef union { char c; double d; int i[3]; } u_t;
struct bits { unsigned a : 3; unsigned b : 7; int c; };
struct flex { int n; double items[]; };
