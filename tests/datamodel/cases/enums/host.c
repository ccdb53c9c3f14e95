#include <stdio.h>
enum color { RED, GREEN, BLUE = 10, VIOLET };
typedef enum { NEG = -5, ZERO = 0, BIG = 0x7fffffff } sign_t;
extern enum color next_color(enum color);
extern sign_t classify(int);
extern int color_count(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("next(RED)=%d\n", next_color(RED));
    printf("next(BLUE)=%d\n", next_color(BLUE));
    printf("next(VIOLET)=%d\n", next_color(VIOLET));
    printf("next(5)=%d\n", next_color((enum color)5));
    printf("classify %d %d %d\n", classify(-3), classify(0), classify(8));
    printf("count %d\n", color_count());
    return 0;
}
