typedef struct point point_t;
void move(pointt *p);
