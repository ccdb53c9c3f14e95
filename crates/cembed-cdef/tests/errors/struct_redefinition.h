struct s { int x; };
struct s { long x; };
