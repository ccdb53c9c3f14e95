#include <stdio.h>
extern int run(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("run -> %d\n", run());
    return 0;
}
