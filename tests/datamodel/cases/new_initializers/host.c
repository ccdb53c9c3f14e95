#include <stdio.h>
extern void report(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    report();
    printf("done\n");
    return 0;
}
