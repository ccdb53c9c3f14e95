int a;
#ifdef FOO
int b;
#endif
