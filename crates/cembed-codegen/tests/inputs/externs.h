/* Functions implemented in Python: exported (embedding_api), extern "Python"
 * (static, used by the C code) and extern "Python+C" (visible to other C
 * files). */
int exported(int, const char *);
void notify(void);
/* cembed: cdef */
extern "Python" int on_progress(int done, int total);
extern "Python" void on_done(void *userdata);
extern "Python+C" double compute(double);
extern "Python+C" {
    int plus_c_one(int);
    long plus_c_two(long, long);
}
int run_job(int (*progress)(int, int), void (*done)(void *));
