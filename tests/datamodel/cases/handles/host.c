#include <stdio.h>
extern void setup(void);
extern void c_fire_all(int);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    setup();
    c_fire_all(1);
    c_fire_all(2);
    printf("host done\n");
    return 0;
}
