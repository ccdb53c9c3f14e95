#include <stdio.h>
#include <wchar.h>
#include <string.h>
extern const char *greet(const char *);
extern char *shout(const char *);
extern int fill(char *, int);
extern const wchar_t *wide(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *g = greet("world");
    printf("%s (%zu)\n", g, strlen(g));
    char *s = shout("quiet");
    printf("%s\n", s);
    s[0] = 'q';            /* writable memory owned by Python */
    printf("%s\n", s);
    char buf[8];
    memset(buf, 'x', sizeof buf);
    int n = fill(buf, sizeof buf);
    printf("fill %d '%s'\n", n, buf);
    const wchar_t *w = wide();
    printf("wide len %zu first %x\n", wcslen(w), (unsigned)w[0]);
    printf("greet again: %s\n", greet("C"));
    return 0;
}
