extern "C" {
    int f(int);
}
