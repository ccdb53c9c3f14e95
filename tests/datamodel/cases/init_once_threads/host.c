#include <pthread.h>
#include <stdio.h>
extern int get_value(int);
extern int n_calls(void);
extern int flaky(void);
#define N 4
static int results[N];
static void *worker(void *arg)
{
    int i = (int)(long)arg;
    results[i] = get_value(i);
    return NULL;
}
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    pthread_t t[N];
    printf("n_calls before %d\n", n_calls());
    for (long i = 0; i < N; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < N; i++)
        printf("thread %d got %d\n", i, results[i]);
    printf("n_calls after %d\n", n_calls());
    printf("flaky %d\n", flaky());
    printf("flaky %d\n", flaky());
    printf("flaky %d\n", flaky());
    return 0;
}
