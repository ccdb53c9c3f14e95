#include <stdio.h>
extern void run(void);
int main(void) { setvbuf(stdout, NULL, _IONBF, 0); run(); return 0; }
