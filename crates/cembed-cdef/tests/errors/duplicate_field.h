struct s {
    int x;
    char *name;
    double x;
};
