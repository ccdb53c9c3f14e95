struct s { int x; };
union s u;
