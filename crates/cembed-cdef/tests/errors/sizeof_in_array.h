int a[sizeof(int)];
