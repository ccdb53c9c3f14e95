/* Pointers, qualifiers and arrays. */
int strlen2(const char *);
char *dup(const char *, size_t);
void *any(void *, const void *);
int **pp(int **, int *const *);
int (*row(int (*)[4]))[4];
void fill(double xs[8], int n);
void matrix(int m[3][4]);
/* cembed: cdef */
int numbers[5];
const char *const names[3];
int counts[...];
char *volatile vp;
int (*grid)[4];
