void f(int a, unknown_t b);
