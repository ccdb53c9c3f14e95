/* Another C file of the library: it calls the extern "Python+C" function
   directly, by its C name. */
extern int py_square(int v);
extern double py_mean(const double *v, int n);

int other_sum_squares(int n)
{
    int s = 0;
    for (int i = 1; i <= n; i++)
        s += py_square(i);
    return s;
}

double other_mean3(double a, double b, double c)
{
    double v[3] = { a, b, c };
    return py_mean(v, 3);
}
