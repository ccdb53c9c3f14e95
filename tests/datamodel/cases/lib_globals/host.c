#include <stdio.h>
typedef struct { int x, y; } point_t;
extern int counter; extern double ratio; extern int table[4]; extern point_t origin;
extern point_t path[2]; extern const char *label; extern char name[8];
extern void run(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    counter = 6;
    run();
    printf("C: counter %d ratio %g table %d %d %d %d origin %d %d path[1].y %d label '%s' name '%s'\n",
           counter, ratio, table[0], table[1], table[2], table[3], origin.x, origin.y, path[1].y, label, name);
    return 0;
}
