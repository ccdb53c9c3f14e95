int f(int) = 0;
