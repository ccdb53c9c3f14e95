void f(int a[...]);
