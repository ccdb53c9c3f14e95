#include <stdio.h>
#include <errno.h>
extern int check_errno(int);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    errno = 42;
    check_errno(7);
    printf("C errno after call %d\n", errno);
    errno = 13;
    check_errno(-1);
    printf("C errno after call %d\n", errno);
    return 0;
}
