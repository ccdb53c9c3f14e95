int a[2][];
