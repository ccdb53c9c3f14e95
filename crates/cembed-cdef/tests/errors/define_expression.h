#define FOO (1 + 2)
