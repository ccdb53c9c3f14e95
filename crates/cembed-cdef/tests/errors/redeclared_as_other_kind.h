int thing;
int thing(void);
