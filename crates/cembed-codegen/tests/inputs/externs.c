static int on_progress(int done, int total);
static void on_done(void *userdata);
double compute(double);
static int run_job(int (*progress)(int, int), void (*done)(void *))
{
    int i, r = 0;
    for (i = 0; i < 3; i++)
        r += progress(i, 3);
    done(0);
    return r + (int)compute(1.5);
}
static int job(void) { return run_job(on_progress, on_done); }
int (*job_ptr)(void) = job;
