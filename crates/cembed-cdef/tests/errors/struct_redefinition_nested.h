struct s { int x; union { int a; } u; };
struct s { int x; union { long a; } u; };
