#include <stdio.h>
extern void run(void *, long);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int v = 0x01020361;
    run(&v, (long)&v);
    return 0;
}
