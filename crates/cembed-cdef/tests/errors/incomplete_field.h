struct opaque;
struct s { struct opaque o; };
