int f(int) __attribute__((noreturn));
