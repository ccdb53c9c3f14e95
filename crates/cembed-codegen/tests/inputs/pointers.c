#include <string.h>
int numbers[5] = { 1, 2, 3, 4, 5 };
const char *const names[3] = { "a", "b", "c" };
int counts[7];
char *volatile vp;
static int grid_storage[2][4];
int (*grid)[4] = grid_storage;
