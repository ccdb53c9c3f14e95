#include <stdio.h>
extern int sum4(int a[4]);
extern void upcase(char s[]);
extern int trace(int m[3][3]);
extern int first_of(int (*rows)[2], int n);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int a[4] = { 1, 2, 3, 4 };
    printf("sum4 %d\n", sum4(a));
    char s[] = "shout";
    upcase(s);
    printf("upcase %s\n", s);
    int m[3][3] = { {1, 2, 3}, {4, 5, 6}, {7, 8, 9} };
    printf("trace %d\n", trace(m));
    int rows[3][2] = { {10, 0}, {20, 0}, {30, 0} };
    printf("first_of %d\n", first_of(rows, 3));
    return 0;
}
