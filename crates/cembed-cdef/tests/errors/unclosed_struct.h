struct s {
    int x;

