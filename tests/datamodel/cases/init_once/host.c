#include <stdio.h>
extern int get_config(int);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("%d\n", get_config(1));
    printf("%d\n", get_config(2));
    printf("%d\n", get_config(3));
    return 0;
}
