int x
int y;
