extern "Python" {
    int ok(int);
    typedef int t;
}
