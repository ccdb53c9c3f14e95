// extern "Python" in all its spellings: single declarations and blocks.
extern "Python" int on_event(int, void *);
extern "Python+C" void shared_cb(const char *msg);
extern "C+Python" double other_order(double);
extern "Python" {
    int cb_a(int);
    static void cb_b(void);
    long cb_c(long, unsigned char);
}
extern "Python+C" {
    void pc_a(void);
}
extern "Python + C" int spaced(int);
int plain_c_function(int);
extern "Python" {
    typedef int (*handler_t)(int);
    struct event { int code; };
    int on_struct(struct event *, handler_t);
}
