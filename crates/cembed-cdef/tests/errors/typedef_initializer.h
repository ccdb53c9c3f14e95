typedef int t = 3;
